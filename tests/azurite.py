"""Azurite alone (tables and queues, in memory) for the unit and function tests: no IdP, no dev host."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from tools.localstack.stack import ROOT, azurite_connection_string, free_port


class Azurite:
    """Context manager: one Azurite process serving Table and Queue Storage on free ports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.table_port, self.queue_port = free_port(), free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.table_port, self.queue_port)

    def __enter__(self) -> Azurite:
        log = (self.folder / "azurite.log").open("wb")
        self._process = subprocess.Popen(
            [
                str(ROOT / "tools" / "node_modules" / ".bin" / "azurite"),
                "--inMemoryPersistence",
                "--silent",
                "--blobPort",
                str(free_port()),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.table_port),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(self.queue_port),
                "--skipApiVersionCheck",
                "--disableTelemetry",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not all(_listening(port) for port in (self.table_port, self.queue_port)):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError((self.folder / "azurite.log").read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def closed_storage() -> str:
    """A connection string to a storage account nobody serves: every call fails to connect."""
    port = free_port()
    return azurite_connection_string(port, port)
