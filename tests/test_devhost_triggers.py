"""Queue and timer triggers: the dev host process runs tests/apps/triggers_app.py against the stack's Azurite.

Each dev host process gets its own queues and table through app settings, so what a test sees
in storage is what that process did. Waits are bounded polls (60 s), never timings.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.queue import QueueClient

from tests.support import eventually
from tools.localstack.stack import LocalStack, StackConfig

REPO = Path(__file__).resolve().parents[1]
MAX_DEQUEUE_COUNT = 3  # tests/apps/host.json
SHORT_LEASE_SECONDS = 2


@dataclass
class DevHost:
    url: str
    connection_string: str
    settings: dict[str, str]
    log: Path

    def queue(self, setting: str) -> QueueClient:
        """The raw queue (no encode policy): tests write exactly the text the host will read."""
        return QueueClient.from_connection_string(self.connection_string, self.settings[setting])

    def poison(self, setting: str) -> QueueClient:
        return QueueClient.from_connection_string(self.connection_string, f"{self.settings[setting]}-poison")

    @property
    def seen(self) -> TableClient:
        return TableClient.from_connection_string(self.connection_string, self.settings["SEEN_TABLE"])

    def rows(self, partition: str) -> list[dict[str, Any]]:
        return list(self.seen.query_entities("PartitionKey eq @p", parameters={"p": partition}))


@contextmanager
def dev_host(stack: LocalStack, tmp_path: Path, **settings: str) -> Iterator[DevHost]:
    suffix = uuid.uuid4().hex[:10]
    names = {
        "SEEN_TABLE": f"Seen{suffix}",
        "WORK_QUEUE": f"work-{suffix}",
        "ASYNC_QUEUE": f"async-{suffix}",
        "FAILING_QUEUE": f"failing-{suffix}",
        "SLOW_QUEUE": f"slow-{suffix}",
    }
    TableServiceClient.from_connection_string(stack.storage_connection_string).create_table(names["SEEN_TABLE"])
    env = {**os.environ, "STORAGE": stack.storage_connection_string, "FUNCTIONS_KEY": "unused", **names, **settings}
    log = tmp_path / f"devhost-{suffix}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.devhost", "--app", "tests.apps.triggers_app:app", "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        ready = eventually(
            lambda: (process.poll() is None and re.search(r"Dev host ready on (\S+)", log.read_text())) or process.poll() is not None,
            "the dev host starts",
        )
        assert isinstance(ready, re.Match), log.read_text()
        yield DevHost(ready[1], stack.storage_connection_string, {**names, **settings}, log)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def host(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    """host.json's defaults for encoding (base64); a six-field NCRONTAB timer every second."""
    with dev_host(stack, tmp_path_factory.mktemp("devhost"), TICK_SCHEDULE="*/1 * * * * *") as running:
        yield running


@pytest.fixture(scope="module")
def plain_host(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    """messageEncoding none, set the host's way, by an app setting over host.json; a TimeSpan timer;
    a 2 s message lease instead of the host's 10 minutes, to see it renewed."""
    with dev_host(
        stack,
        tmp_path_factory.mktemp("devhost-plain"),
        TICK_SCHEDULE="00:00:01",
        AzureFunctionsJobHost__extensions__queues__messageEncoding="none",
        DEVHOST_QUEUE_LEASE_SECONDS=str(SHORT_LEASE_SECONDS),
    ) as running:
        yield running


def _ticks(host: DevHost, at_least: int) -> list[dict[str, Any]] | None:
    rows = host.rows("tick")
    return rows if len(rows) >= at_least else None


def _entity(host: DevHost, partition: str, row: str) -> dict[str, Any] | None:
    return next(iter(host.seen.query_entities("PartitionKey eq @p and RowKey eq @r", parameters={"p": partition, "r": row})), None)


def _empty(queue: QueueClient) -> bool:
    return queue.get_queue_properties().approximate_message_count == 0


def test_message_runs_with_its_metadata_then_is_deleted(host: DevHost) -> None:
    queue = host.queue("WORK_QUEUE")
    queue.create_queue()  # after the host started: it waits for the queue to exist
    sent = queue.send_message(base64.b64encode("hello é".encode()).decode())
    row = eventually(lambda: _entity(host, "work", sent.id), "the function records the message")
    assert row["Body"] == "hello é"
    assert row["DequeueCount"] == 1
    assert datetime.fromisoformat(row["InsertionTime"]) == sent.inserted_on
    assert datetime.fromisoformat(row["ExpirationTime"]) == sent.expires_on
    assert datetime.fromisoformat(row["NextVisible"]) > sent.inserted_on
    assert row["PopReceipt"]
    eventually(lambda: _empty(queue), "the message is deleted after success")


def test_async_function_runs_with_its_context(host: DevHost) -> None:
    queue = host.queue("ASYNC_QUEUE")
    queue.create_queue()
    sent = queue.send_message(base64.b64encode(b"async").decode())
    row = eventually(lambda: _entity(host, "async", sent.id), "the async function runs")
    assert (row["Body"], row["Function"]) == ("async", "work_async")


def test_failing_message_is_retried_then_moved_to_poison_with_its_body(host: DevHost) -> None:
    queue, poison = host.queue("FAILING_QUEUE"), host.poison("FAILING_QUEUE")
    queue.create_queue()
    original = base64.b64encode(b'{"intent": 42}').decode()
    sent = queue.send_message(original)
    moved = eventually(lambda: poison.peek_messages(max_messages=32) if _exists(poison) else None, "the poison queue gets it")
    assert [m.content for m in moved] == [original]
    attempts = sorted(row["DequeueCount"] for row in host.rows("failing") if row["RowKey"].startswith(sent.id))
    assert attempts == list(range(1, MAX_DEQUEUE_COUNT + 1))  # each retry after visibilityTimeout, then no more
    assert _empty(queue)


def test_undecodable_base64_goes_to_poison_without_running(host: DevHost) -> None:
    queue, poison = host.queue("WORK_QUEUE"), host.poison("WORK_QUEUE")
    if not _exists(queue):
        queue.create_queue()
    sent = queue.send_message("not base64!")
    moved = eventually(lambda: poison.peek_messages(max_messages=32) if _exists(poison) else None, "the poison queue gets it")
    assert [m.content for m in moved] == ["not base64!"]
    assert _entity(host, "work", sent.id) is None


def test_encoding_none_passes_the_text_as_sent(plain_host: DevHost) -> None:
    queue = plain_host.queue("WORK_QUEUE")
    queue.create_queue()
    texts = ['{"plain": "é"}', "aGVsbG8="]  # the second would be "hello" if it were decoded
    sent = [queue.send_message(text) for text in texts]
    bodies = [eventually(partial(_entity, plain_host, "work", m.id), "processed")["Body"] for m in sent]
    assert bodies == texts


def test_a_function_outlasting_its_lease_keeps_the_message(plain_host: DevHost) -> None:
    """The lease is renewed while the function runs, so the message is not handed out a second time."""
    queue = plain_host.queue("SLOW_QUEUE")
    queue.create_queue()
    sent = queue.send_message(str(SHORT_LEASE_SECONDS * 3))
    eventually(lambda: _entity(plain_host, "slow", f"{sent.id}-1"), "the function starts")
    eventually(lambda: _empty(queue), "the message is deleted once the function is done")
    assert [row["DequeueCount"] for row in plain_host.rows("slow")] == [1]


def test_timer_fires_on_a_six_field_ncrontab_schedule(host: DevHost) -> None:
    ticks = eventually(partial(_ticks, host, 2), "two ticks")
    assert {row["PastDue"] for row in ticks} == {False}
    for row in ticks:  # every second: each tick's next occurrence is a whole second after it ran
        assert datetime.fromisoformat(row["Next"]).microsecond == 0
        assert datetime.fromisoformat(row["Next"]) > datetime.fromisoformat(row["Ran"])


def test_timer_fires_on_a_timespan_schedule(plain_host: DevHost) -> None:
    assert len(eventually(partial(_ticks, plain_host, 2), "two ticks")) >= 2


def test_http_query_and_methods_through_the_process(host: DevHost) -> None:
    assert requests.get(f"{host.url}/api/params?a=1&a=2&b=", timeout=10).json() == {"a": "1,2"}
    for method in ("POST", "HEAD", "DELETE"):
        response = requests.request(method, f"{host.url}/api/params", timeout=10)
        assert (response.status_code, response.content) == (404, b"")


def test_queue_trigger_recovers_when_azurite_restarts(tmp_path: Path) -> None:
    """Storage stopped mid-flow: the listener backs off, then runs new messages once Azurite is back."""
    with LocalStack(StackConfig.on_free_ports(tmp_path)) as own, dev_host(own, tmp_path, TICK_SCHEDULE="0 0 0 1 1 *") as host:
        queue = host.queue("WORK_QUEUE")
        queue.create_queue()
        before = queue.send_message(base64.b64encode(b"before").decode())
        eventually(lambda: _entity(host, "work", before.id), "processed before the stop")
        own.stop_service("azurite")
        eventually(lambda: "polling queue" in host.log.read_text(), "the listener sees storage down")
        own.start_service("azurite")
        after = queue.send_message(base64.b64encode(b"after").decode())
        assert eventually(lambda: _entity(host, "work", after.id), "processed after the restart")["Body"] == "after"
        eventually(lambda: _empty(queue), "and deleted")


def _exists(queue: QueueClient) -> bool:
    try:
        queue.get_queue_properties()
    except ResourceNotFoundError:
        return False
    return True
