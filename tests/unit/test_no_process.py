"""The unit layer's guard (tests/unit/conftest.py) refuses processes and connections."""

import socket
import subprocess
import sys

import pytest

from tests.unit.conftest import StartsAProcess


def test_a_unit_test_cannot_start_a_process() -> None:
    with pytest.raises(StartsAProcess):
        subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_a_unit_test_cannot_open_a_connection() -> None:
    with pytest.raises(StartsAProcess):
        socket.create_connection(("127.0.0.1", 10002), timeout=1)
