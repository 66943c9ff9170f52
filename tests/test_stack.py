"""The local stack keeps every acknowledged write across a stop, and services can be stopped mid-flow."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient

from scripts.stack import LocalStack, StackConfig


def _write(stack: LocalStack, table: str, queue: str) -> str:
    """One entity and one queue message, written the instant before a stop (no 5 s autosave to hide behind)."""
    key = uuid.uuid4().hex
    TableServiceClient.from_connection_string(stack.storage_connection_string).create_table_if_not_exists(
        table
    ).create_entity({"PartitionKey": "p", "RowKey": key, "Value": "kept"})
    queue_client = QueueClient.from_connection_string(stack.storage_connection_string, queue)
    queue_client.create_queue()
    queue_client.send_message(key)
    return key


def _read(stack: LocalStack, table: str, queue: str, key: str) -> tuple[str, list[str]]:
    entity = (
        TableServiceClient.from_connection_string(stack.storage_connection_string)
        .get_table_client(table)
        .get_entity("p", key)
    )
    messages = QueueClient.from_connection_string(stack.storage_connection_string, queue).peek_messages(max_messages=32)
    return entity["Value"], [m.content for m in messages]


def test_writes_survive_stopping_and_restarting_the_stack(tmp_path: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path)
    with LocalStack(config) as stack:
        key = _write(stack, "Kept", "kept-queue")
    with LocalStack(config) as restarted:  # same ports, same Azurite folder
        assert _read(restarted, "Kept", "kept-queue", key) == ("kept", [key])


def test_azurite_stopped_and_restarted_mid_flow(tmp_path: Path) -> None:
    with LocalStack(StackConfig.on_free_ports(tmp_path)) as stack:
        key = _write(stack, "MidFlow", "mid-flow")
        stack.stop_service("azurite")
        tables = TableServiceClient.from_connection_string(
            stack.storage_connection_string, retry_total=0, connection_timeout=2
        )
        with pytest.raises(ServiceRequestError):
            tables.get_table_client("MidFlow").get_entity("p", key)
        stack.start_service("azurite")
        assert _read(stack, "MidFlow", "mid-flow", key) == ("kept", [key])
        assert "successfully closed" in stack.log_text("azurite-table")  # it saved on SIGINT
        with pytest.raises(KeyError):
            stack.stop_service("blob")
