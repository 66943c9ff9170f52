"""The FunnelStore contract, held against the in-memory funnel (tests/fakes/funnel.py) and the Funnel
table on Azurite: steps add up per day (concurrent adds included), a range reads its days only, and
the stall index keeps one stage per invitation until it is cleared."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from shared.adapters.tables.funnel import FunnelTableStore
from shared.domain.funnel import BUCKETS, StallCandidate, StallStage, Tally
from shared.domain.models import Inviter
from shared.services.ports import FunnelStore
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes.funnel import MemoryFunnel


@pytest.fixture(params=IMPLEMENTATIONS)
def store(request: pytest.FixtureRequest) -> FunnelStore:
    if request.param == "memory":
        return MemoryFunnel()
    tables: TableServiceClient = request.getfixturevalue("azurite_clients")[0]
    return FunnelTableStore(tables)


@pytest.fixture
def day() -> date:
    """Days of this test's own: the table's rows outlive a test."""
    return date(2100, 1, 1) + timedelta(days=random.randrange(300_000))


def test_steps_add_up_per_day_and_a_range_reads_only_its_days(store: FunnelStore, day: date) -> None:
    next_day = day + timedelta(days=1)
    store.add([Tally(day, "created")])
    store.add(
        [
            Tally(day, "created"),
            Tally(day, "delivered", "createdToDelivered", 30),
            Tally(next_day, "signedIn", "openedToSignedIn", 4000),
            Tally(day + timedelta(days=5), "created"),
        ]
    )
    rollups = {rollup.day: rollup for rollup in store.days(day, next_day)}
    assert set(rollups) == {day, next_day}
    assert rollups[day].counts == {"created": 2, "delivered": 1}
    assert rollups[day].histograms["createdToDelivered"] == [1] + [0] * len(BUCKETS)
    assert rollups[next_day].counts == {"signedIn": 1}
    assert store.days(day - timedelta(days=3), day - timedelta(days=1)) == []


def test_concurrent_adds_to_one_day_are_all_counted(store: FunnelStore, day: date) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: store.add([Tally(day, "opened")]), range(24)))
    assert [rollup.counts for rollup in store.days(day, day)] == [{"opened": 24}]


def test_the_stall_index_keeps_one_stage_per_invitation_until_cleared(store: FunnelStore) -> None:
    since = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(minutes=random.randrange(1_000_000))
    inviter = Inviter(name="Sam", organisation="rConnect", email="sam@rconnect.example")

    def candidate(invitation_id: str, stage: StallStage, at: datetime) -> StallCandidate:
        return StallCandidate(invitation_id=invitation_id, stage=stage, since=at, invitee_email="a@x.example", inviter=inviter)

    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    store.mark_stalled(candidate(ids[0], "opened", since))
    store.mark_stalled(candidate(ids[1], "opened", since + timedelta(hours=1)))
    store.mark_stalled(candidate(ids[0], "signedIn", since + timedelta(hours=2)))  # the first moved on: its stage and time replaced
    mine = [c for c in store.stalled(since + timedelta(hours=3), 1000) if c.invitation_id in ids]
    assert [(c.invitation_id, c.stage) for c in mine] == [(ids[1], "opened"), (ids[0], "signedIn")]
    assert mine[1].inviter == inviter and mine[1].since == since + timedelta(hours=2)
    assert [c.invitation_id for c in store.stalled(since + timedelta(hours=2), 1000) if c.invitation_id in ids] == [ids[1]]
    store.clear_stalled(ids[0])
    store.clear_stalled(ids[0])  # idempotent
    store.clear_stalled(ids[1])
    assert [c for c in store.stalled(since + timedelta(hours=3), 1000) if c.invitation_id in ids] == []
