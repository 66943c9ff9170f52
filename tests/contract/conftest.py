"""Each port's contract suite runs against the in-memory fake and the Azure adapter on Azurite, so
the fake cannot drift from what the adapter does. The Azurite side is marked `azurite`: the fast
loop deselects it with -m "not azurite"."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient
from pydantic import SecretStr

from shared.adapters.queues import QueueSender as AzureQueueSender
from shared.adapters.tables import INVITATIONS
from shared.adapters.tables.email_index import EmailIndexStore
from shared.adapters.tables.idempotency_keys import IdempotencyKeyStore
from shared.adapters.tables.invitations import InvitationStore
from shared.services.ports import EmailIndex, IdempotencyKeys, InvitationRepository, QueueSender
from shared.settings import Settings
from shared.wiring import create_tables, storage_clients
from tests.azurite import Azurite, closed_storage
from tests.fakes.memory import MemoryEmailIndex, MemoryIdempotencyKeys, MemoryInvitations, MemoryQueues, SettableClock

IMPLEMENTATIONS = ["memory", pytest.param("azurite", marks=pytest.mark.azurite)]
# The invitations a contract test writes have ids that start with this (so they sort first), and are
# deleted after it: other tests on the same Azurite (the sweeper's round trips) scan the whole table.
CONTRACT_ID_PREFIX = "00000000"


@pytest.fixture(scope="session")
def azurite_clients(azurite: Azurite) -> tuple[TableServiceClient, QueueServiceClient]:
    """The adapters' clients on the session's Azurite, with every table created."""
    clients = storage_clients(Settings(storage=SecretStr(azurite.connection_string)))
    create_tables(clients[0])
    return clients


@pytest.fixture(params=IMPLEMENTATIONS)
def invitation_repository(request: pytest.FixtureRequest) -> Iterator[InvitationRepository]:
    if request.param == "memory":
        yield MemoryInvitations()
        return
    tables: TableServiceClient = request.getfixturevalue("azurite_clients")[0]
    yield InvitationStore(tables)
    table = tables.get_table_client(INVITATIONS)
    written = table.query_entities(
        "PartitionKey ge @low and PartitionKey lt @high",
        parameters={"low": CONTRACT_ID_PREFIX, "high": CONTRACT_ID_PREFIX[:-1] + "1"},
        select=["PartitionKey", "RowKey"],
    )
    for row in list(written):
        table.delete_entity(row["PartitionKey"], row["RowKey"])


@pytest.fixture(params=IMPLEMENTATIONS)
def email_index(request: pytest.FixtureRequest) -> EmailIndex:
    if request.param == "memory":
        return MemoryEmailIndex()
    return EmailIndexStore(request.getfixturevalue("azurite_clients")[0])


@pytest.fixture(params=IMPLEMENTATIONS)
def idempotency_keys(request: pytest.FixtureRequest) -> IdempotencyKeys:
    if request.param == "memory":
        return MemoryIdempotencyKeys()
    return IdempotencyKeyStore(request.getfixturevalue("azurite_clients")[0])


@dataclass
class Queues:
    """A QueueSender with what the contract needs to observe it: the messages a receiver would get
    now, time passing, and a sender whose queue service cannot be reached."""

    sender: QueueSender
    visible: Callable[[str], list[dict[str, Any]]]
    wait: Callable[[float], None]
    unreachable: Callable[[], QueueSender]


@pytest.fixture(params=IMPLEMENTATIONS)
def queues(request: pytest.FixtureRequest) -> Queues:
    if request.param == "memory":
        clock = SettableClock()
        memory = MemoryQueues(clock)

        def down() -> QueueSender:
            memory.go_down()
            return memory

        return Queues(memory, memory.visible, lambda seconds: clock.advance(seconds=seconds), down)

    azurite: Azurite = request.getfixturevalue("azurite")

    def visible(queue: str) -> list[dict[str, Any]]:
        client = QueueClient.from_connection_string(azurite.connection_string, queue)
        return [json.loads(base64.b64decode(message.content)) for message in client.peek_messages(max_messages=32)]

    return Queues(
        AzureQueueSender(request.getfixturevalue("azurite_clients")[1]),
        visible,
        time.sleep,
        lambda: AzureQueueSender(storage_clients(Settings(storage=SecretStr(closed_storage())))[1]),
    )


@pytest.fixture
def queue_name() -> str:
    """A queue of this test's own (Azurite's queues outlive a test)."""
    return f"contract-{uuid.uuid4().hex[:16]}"
