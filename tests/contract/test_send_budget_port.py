"""The SendBudget contract (the e-mail sending quota's counters), held against the in-memory budget
(tests/fakes/stores.py) and the EmailBudget table on Azurite: places fill each window up to its
limit, bulk sends leave the reserve, and instances taking places at once never overfill a window."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from shared.adapters.tables.send_budget import TableSendBudget
from shared.domain.pacing import Quota, window_start
from shared.services.ports import SendBudget
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes.stores import MemorySendBudget

QUOTA = Quota(per_minute=10, per_hour=30, reserve_percent=20)


@pytest.fixture(params=IMPLEMENTATIONS)
def budget(request: pytest.FixtureRequest) -> SendBudget:
    if request.param == "memory":
        return MemorySendBudget(QUOTA)
    tables: TableServiceClient = request.getfixturevalue("azurite_clients")[0]
    return TableSendBudget(tables, QUOTA)


@pytest.fixture
def now() -> datetime:
    """An hour of this test's own: the table's windows outlive a test."""
    hour = datetime(2040, 1, 1, tzinfo=UTC) + timedelta(hours=random.randrange(1_000_000))
    return hour + timedelta(seconds=5)


def test_places_fill_a_minute_then_the_next_and_bulk_leaves_the_reserve(budget: SendBudget, now: datetime) -> None:
    minute = window_start(now, QUOTA.minute)
    bulk = [budget.reserve(now, bulk=True) for _ in range(9)]
    # 8 a minute for bulk (10 less 20 %), one every 6 s from the window's start (not before now).
    assert bulk[:3] == [now, minute + timedelta(seconds=6), minute + timedelta(seconds=12)]
    assert bulk[7] == minute + timedelta(seconds=42) and bulk[8] == minute + timedelta(minutes=1)
    assert [budget.reserve(now, bulk=False) for _ in range(2)] == [now, now], "the reserve is the single invitations'"
    assert budget.reserve(now, bulk=False) == minute + timedelta(minutes=1)


def test_a_full_hour_sends_bulk_to_the_next(budget: SendBudget, now: datetime) -> None:
    hour = window_start(now, QUOTA.hour)
    places = [budget.reserve(now, bulk=True) for _ in range(25)]
    assert sum(1 for at in places if at < hour + QUOTA.hour) == 24 and places[24] == hour + QUOTA.hour


def test_instances_taking_places_at_once_never_overfill_a_window(budget: SendBudget, now: datetime) -> None:
    with ThreadPoolExecutor(8) as pool:
        places = list(pool.map(lambda _: budget.reserve(now, bulk=False), range(30)))
    per_minute = Counter(window_start(at, QUOTA.minute) for at in places)
    assert sorted(per_minute.values()) == [10, 10, 10]
