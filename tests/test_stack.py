"""The local stack keeps every acknowledged write across a stop, services can be stopped mid-flow, and a
service that hangs or fails while starting is described (a hang once is retried)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import ServiceRequestError
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient

from tools.localstack.stack import LocalStack, StackConfig, free_ports


def _write(stack: LocalStack, table: str, queue: str) -> str:
    """One entity and one queue message, written the instant before a stop (no 5 s autosave to hide behind)."""
    key = uuid.uuid4().hex
    TableServiceClient.from_connection_string(stack.storage_connection_string).create_table_if_not_exists(table).create_entity(
        {"PartitionKey": "p", "RowKey": key, "Value": "kept"}
    )
    queue_client = QueueClient.from_connection_string(stack.storage_connection_string, queue)
    queue_client.create_queue()
    queue_client.send_message(key)
    return key


def _read(stack: LocalStack, table: str, queue: str, key: str) -> tuple[str, list[str]]:
    entity = TableServiceClient.from_connection_string(stack.storage_connection_string).get_table_client(table).get_entity("p", key)
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
        tables = TableServiceClient.from_connection_string(stack.storage_connection_string, retry_total=0, connection_timeout=2)
        with pytest.raises(ServiceRequestError):
            tables.get_table_client("MidFlow").get_entity("p", key)
        stack.start_service("azurite")
        assert _read(stack, "MidFlow", "mid-flow", key) == ("kept", [key])
        assert "successfully closed" in stack.log_text("azurite-table")  # it saved on SIGINT
        with pytest.raises(KeyError):
            stack.stop_service("blob")


def test_free_ports_are_all_different() -> None:
    # Chosen one at a time (bind to port 0, close), a few hundred ports would repeat one almost surely.
    ports = free_ports(300)
    assert len(set(ports)) == len(ports)


# Long enough for a service to start on a busy machine, short enough for a test to wait out twice.
STALL_SECONDS = 15


def _hanging_accounts_file(config: StackConfig) -> Path:
    """The IdP reads its accounts file while starting, after its first line of output (as it hung
    in a CI run): a FIFO holds that read until someone writes into it."""
    folder = config.data_dir / "idp"
    folder.mkdir(parents=True)
    fifo = folder / "accounts.json"
    os.mkfifo(fifo)
    return fifo


def _release(fifo: Path) -> None:
    """Let a writer blocked on opening the FIFO go (it opens once a reader does)."""
    os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))


def test_a_service_that_hangs_while_starting_is_described_and_started_again(tmp_path: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path, startup_seconds=STALL_SECONDS)
    fifo = _hanging_accounts_file(config)
    stack = LocalStack(config)
    done = threading.Event()

    def feed_the_second_start() -> None:
        # The harness notes the restart once the first start is killed: the next reader is the second.
        while not done.is_set():
            if stack.logs.joinpath("idp.log").exists() and "starting idp again" in stack.log_text("idp"):
                with fifo.open("w") as writer:
                    writer.write("{}")
                return
            time.sleep(0.1)

    feeder = threading.Thread(target=feed_the_second_start, daemon=True)
    feeder.start()
    try:
        with pytest.warns(RuntimeWarning) as warned, stack:
            health = requests.get(f"{stack.idp_url}/health", verify=str(stack.ca_bundle), timeout=10)
            log = stack.log_text("idp")
    finally:
        done.set()
        _release(fifo)
        feeder.join()
    assert health.status_code == 200
    [warning] = [str(w.message) for w in warned if str(w.message).startswith("idp ")]
    # What the first start was doing at the deadline: alive, not listening, its output so far.
    assert re.match(rf"idp started on the second try; the first: idp did not start within {STALL_SECONDS} s: pid \d+ sleeping in ", warning)
    assert f"port {config.idp_port}: no TCP socket" in warning and "load average" in warning
    assert "its output:" in warning and "IdP ready" not in warning
    # The log keeps both starts, the harness's note between them.
    first, second = log.split("[tools/localstack/stack.py] ")
    assert "IdP ready at" not in first and "killed; starting idp again" in second and "IdP ready at" in second


def test_a_service_that_hangs_twice_fails_the_start_with_both_descriptions(tmp_path: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path, startup_seconds=STALL_SECONDS)
    fifo = _hanging_accounts_file(config)
    with pytest.raises(RuntimeError) as failure, LocalStack(config):
        pass
    message = str(failure.value)
    assert message.startswith("idp did not start, twice:")
    assert message.count(f"idp did not start within {STALL_SECONDS} s: pid ") == 2
    # Nothing is left running: no reader holds the FIFO, no storage service listens.
    assert fifo.exists()
    with pytest.raises(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # ENXIO: no process has it open to read
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", config.table_port)) != 0


def test_a_service_that_exits_while_starting_fails_at_once_naming_who_holds_its_port(tmp_path: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", config.idp_port))
        squatter.listen()
        with pytest.raises(RuntimeError) as failure, LocalStack(config):
            pass
    message = str(failure.value)
    assert message.startswith("idp exited with code 1 during start-up")
    assert f"127.0.0.1:{config.idp_port} LISTEN held by pid {os.getpid()} " in message
    assert "IdP failed to start: listen EADDRINUSE" in message
    assert "[tools/localstack/stack.py]" not in message  # not started again
