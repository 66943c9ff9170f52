"""Queue triggers, polled like the Storage Queues extension's listener (WebJobs ``QueueListener``/``QueueProcessor``).

Per function: fetch up to ``batchSize`` messages, invisible for 10 minutes while they run; fetch the
next batch once no more than ``newBatchThreshold`` are still running; when the queue is empty (or
missing, or storage is down) wait, backing off exponentially from 100 ms to ``maxPollingInterval``.
A message is deleted when its function succeeds; when it fails it becomes visible again after
``visibilityTimeout``, and once its dequeue count reaches ``maxDequeueCount`` (or it cannot be
decoded as ``messageEncoding`` says) its original text is moved to ``{queue}-poison``, a queue
created on first use. The trigger queue itself is not created: the host waits for it to exist.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as FunctionsQueueMessage
from azure.storage.queue import QueueClient, QueueMessage, QueueServiceClient

from tools.devhost.functions import invoke
from tools.devhost.hostconfig import QueueOptions

log = logging.getLogger("devhost")

MIN_POLLING_INTERVAL = 0.1  # seconds, the host's QueuePollingIntervals.Minimum
LEASE_SECONDS = 600  # a fetched message stays invisible this long (the host's 10 minutes), renewed at half-time while its function runs


@dataclass(frozen=True)
class QueueFunction:
    name: str
    arg_name: str
    queue_name: str
    handler: Callable[..., Any]


def decode(content: str, encoding: str) -> bytes:
    """The message body the function gets; ``binascii.Error`` when base64 content isn't base64."""
    if encoding == "base64":
        return base64.b64decode("".join(content.split()), validate=True)
    return content.encode("utf-8")


class QueueListener:
    """Polls one queue for one function on its own thread; messages run on the shared executor."""

    def __init__(
        self,
        function: QueueFunction,
        service: QueueServiceClient,
        options: QueueOptions,
        executor: Executor,
        stopping: threading.Event,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self.function = function
        self.options = options
        self.lease_seconds = lease_seconds
        self.queue: QueueClient = service.get_queue_client(function.queue_name)
        self.poison: QueueClient = service.get_queue_client(f"{function.queue_name}-poison")
        self._executor = executor
        self._stopping = stopping
        self._running: set[Future[None]] = set()
        self._thread = threading.Thread(target=self._poll, name=f"queue:{function.queue_name}", daemon=True)

    def start(self) -> None:
        log.info("%s: queueTrigger on '%s'", self.function.name, self.function.queue_name)
        self._thread.start()

    def join(self) -> None:
        """After ``stopping`` is set: wait for the poll loop and the messages it started."""
        self._thread.join()
        wait(self._running)

    def _poll(self) -> None:
        delay = MIN_POLLING_INTERVAL
        queue_exists = False
        while not self._stopping.is_set():
            self._wait_for_batch_threshold()
            batch: list[QueueMessage] = []
            try:
                # Checked until it exists, so a missing queue is not an error on every poll.
                queue_exists = queue_exists or self._exists()
                if queue_exists:
                    batch = list(
                        self.queue.receive_messages(
                            messages_per_page=self.options.batch_size,
                            max_messages=self.options.batch_size,
                            visibility_timeout=self.lease_seconds,
                            retry_total=0,  # the poll loop is the retry, with its back-off
                        )
                    )
            except AzureError as error:
                queue_exists = False
                log.warning("%s: polling queue '%s' failed: %s", self.function.name, self.function.queue_name, error)
            if batch:
                delay = MIN_POLLING_INTERVAL
                for message in batch:
                    future = self._executor.submit(self._process, message)
                    self._running.add(future)
                continue
            self._stopping.wait(delay)
            delay = min(self.options.max_polling_interval, delay * 2 * random.uniform(0.8, 1.2))

    def _exists(self) -> bool:
        try:
            self.queue.get_queue_properties(retry_total=0)
        except ResourceNotFoundError:
            return False
        return True

    def _wait_for_batch_threshold(self) -> None:
        self._running = {future for future in self._running if not future.done()}
        while len(self._running) > self.options.batch_threshold:
            self._running = wait(self._running, return_when=FIRST_COMPLETED).not_done

    def _process(self, message: QueueMessage) -> None:
        try:
            self._handle(message)
        except AzureError:
            # Completing failed (storage down): the lease runs out and the message comes back, as on the host.
            log.exception("%s: completing message %s failed", self.function.name, message.id)

    def _handle(self, message: QueueMessage) -> None:
        if message.dequeue_count is not None and message.dequeue_count > self.options.max_dequeue_count:
            self._move_to_poison(message)
            return
        try:
            body = decode(message.content, self.options.message_encoding)
        except ValueError:  # binascii.Error
            log.warning("Message decoding has failed! Check MessageEncoding settings. MessageId=%s.", message.id)
            self._move_to_poison(message)
            return
        function_message = FunctionsQueueMessage(
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        reason = f"New queue message detected on '{self.function.queue_name}'."
        with self._leased(message):
            succeeded = invoke(self.function.name, self.function.handler, {self.function.arg_name: function_message}, reason)
        if succeeded:
            self._delete(message)
        elif (message.dequeue_count or 0) >= self.options.max_dequeue_count:
            self._move_to_poison(message)
        else:
            try:
                self.queue.update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=int(self.options.visibility_timeout))
            except ResourceNotFoundError:
                pass  # the message or the queue is gone: nothing to release

    @contextmanager
    def _leased(self, message: QueueMessage) -> Iterator[None]:
        """Keep the message invisible while its function runs, renewing the lease when half of it has passed."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease_seconds / 2):
                try:
                    receipt = self.queue.update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=self.lease_seconds)
                except AzureError as error:
                    log.warning("%s: renewing the lease of message %s failed: %s", self.function.name, message.id, error)
                    continue
                message.pop_receipt, message.next_visible_on = receipt.pop_receipt, receipt.next_visible_on

        keeper = threading.Thread(target=renew, name=f"lease:{message.id}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    def _move_to_poison(self, message: QueueMessage) -> None:
        log.warning(
            "Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
            self.options.max_dequeue_count,
            self.poison.queue_name,
        )
        try:
            self.poison.send_message(message.content)
        except ResourceNotFoundError:
            self.poison.create_queue()
            self.poison.send_message(message.content)
        self._delete(message)

    def _delete(self, message: QueueMessage) -> None:
        try:
            self.queue.delete_message(message)
        except ResourceNotFoundError:
            pass  # already gone (the host logs this at debug level and moves on)
