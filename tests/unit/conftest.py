"""Unit tests start no process and open no connection: they run in the test's own process, on fakes.
A test that needs Azurite, the dev host or the local IdP belongs in tests/integration or above."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import pytest


class StartsAProcess(AssertionError):
    """A unit test tried to start a process or reach a server."""


def _refuse_process(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
    raise StartsAProcess(f"a unit test starts no process (it ran {args!r}): move it to tests/integration")


def _refuse_connection(self: socket.socket, address: Any) -> None:
    raise StartsAProcess(f"a unit test opens no connection (it connected to {address!r}): use a fake, or move it to tests/integration")


@pytest.fixture(autouse=True)
def no_process_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse_process)
    monkeypatch.setattr(socket.socket, "connect", _refuse_connection)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse_connection)
