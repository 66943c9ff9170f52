"""Services over the in-memory fakes (tests/fakes): no process, no Azurite, a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

START = datetime(2030, 1, 15, 9, 30, tzinfo=UTC)


class SteppingClock:
    """Starts at START and stands still until the test moves it (`advance`): every reading is known."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()
