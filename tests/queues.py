"""The stack's Storage Queues seen from the tests: what the app enqueued, and messages put there on purpose.

Messages are base64-encoded JSON, as the Functions host expects (host.json `messageEncoding`).
`EventLog` makes the test session the one consumer of `invitation-events` (the CRM's place): it
drains the queue into memory, so every test finds the events of its own invitations there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueClient

from tests.support import eventually
from tools.localstack.stack import LocalStack

EVENTS = "invitation-events"
COMPANY_CREATE = "company-create"


class Queues:
    def __init__(self, connection_string: str) -> None:
        self.connection_string = connection_string

    @classmethod
    def of(cls, stack: LocalStack) -> Queues:
        return cls(stack.storage_connection_string)

    def client(self, name: str) -> QueueClient:
        return QueueClient.from_connection_string(
            self.connection_string,
            name,
            message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy(),
        )

    def send(self, name: str, body: bytes) -> str:
        """Put `body` on the queue as it is (base64-encoded, as the host expects); the message's id."""
        client = self.client(name)
        with suppress(ResourceExistsError):
            client.create_queue()  # a fresh stack: the app creates its queues on first use
        return str(client.send_message(body).id)

    def send_json(self, name: str, payload: dict[str, Any]) -> str:
        return self.send(name, json.dumps(payload).encode())

    def waiting(self, name: str) -> int:
        """Messages in the queue, invisible ones (being worked on) included; 0 for a missing queue."""
        try:
            return self.client(name).get_queue_properties().approximate_message_count or 0
        except ResourceNotFoundError:
            return 0

    def wait_until_drained(self, name: str, timeout: float = 60) -> None:
        """Every message of the queue was taken and deleted by its worker (or moved to the poison queue)."""
        eventually(lambda: self.waiting(name) == 0, f"the {name} queue to be drained", timeout)


class EventLog:
    """Every message taken from `invitation-events`, in arrival order, as (raw text, parsed JSON)."""

    def __init__(self, queues: Queues) -> None:
        self.queue = queues.client(EVENTS)
        self.received: list[tuple[str, dict[str, Any]]] = []

    def drain(self) -> None:
        try:
            for message in self.queue.receive_messages(messages_per_page=32, visibility_timeout=30):
                raw = bytes(message.content).decode("utf-8")
                self.received.append((raw, json.loads(raw)))
                self.queue.delete_message(message)
        except ResourceNotFoundError:
            return  # nothing was ever published

    def deliveries(self, subject: str) -> list[tuple[str, dict[str, Any]]]:
        """Every delivery so far of the events about one invitation, re-deliveries included."""
        self.drain()
        return [(raw, event) for raw, event in self.received if event.get("subject") == subject]

    def of(self, subject: str) -> list[dict[str, Any]]:
        """The distinct events (by id) about one invitation, oldest first."""
        distinct: dict[str, dict[str, Any]] = {}
        for _, event in self.deliveries(subject):
            distinct.setdefault(event["id"], event)
        return sorted(distinct.values(), key=lambda event: (event["time"], event["id"]))

    def types(self, subject: str) -> list[str]:
        return [event["type"] for event in self.of(subject)]

    def wait_for(self, subject: str, types: Iterable[str], timeout: float = 60) -> list[dict[str, Any]]:
        wanted = set(types)
        eventually(lambda: wanted <= set(self.types(subject)), f"events {sorted(wanted)} about {subject}", timeout)
        return self.of(subject)
