"""Services built over the in-memory fakes (tests/fakes/memory.py), with a clock the test sets: no
process, no storage. A test module imports the fixtures it takes (pytest finds them there)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from shared.domain.pacing import Quota
from shared.routes import Links
from shared.services.events import EventPublisher
from shared.services.funnel import FunnelService
from shared.services.invitations import InvitationService
from tests.fakes.funnel import MemoryFunnel
from tests.fakes.memory import MemoryEmailIndex, MemoryIdempotencyKeys, MemoryInvitations, MemoryQueues, SettableClock
from tests.fakes.stores import MemorySendBudget

BASE_URL = "https://invite.rconnect.example"
REDIRECT_ALLOWLIST = ["https://portal.rconnect.example"]
STALLED_AFTER_HOURS = 48
QUOTA = Quota(per_minute=30, per_hour=100, reserve_percent=20)


@dataclass
class Fakes:
    """The invitation service's ports in memory; pass another `invitations` to change how storage behaves."""

    clock: SettableClock = field(default_factory=SettableClock)
    invitations: MemoryInvitations = field(default_factory=MemoryInvitations)
    email_index: MemoryEmailIndex = field(default_factory=MemoryEmailIndex)
    idempotency_keys: MemoryIdempotencyKeys = field(default_factory=MemoryIdempotencyKeys)
    queues: MemoryQueues = field(init=False)
    # ACS's quota for a new resource, a minute being a minute: a test moves the clock past a window.
    budget: MemorySendBudget = field(default_factory=lambda: MemorySendBudget(QUOTA))
    funnel_store: MemoryFunnel = field(default_factory=MemoryFunnel)
    funnel: FunnelService = field(init=False)

    def __post_init__(self) -> None:
        self.queues = MemoryQueues(self.clock)
        self.funnel = FunnelService(self.funnel_store, self.clock, stalled_after_hours=STALLED_AFTER_HOURS)

    def invitation_service(self) -> InvitationService:
        return InvitationService(
            self.invitations,
            self.idempotency_keys,
            self.email_index,
            self.queues,
            Links(BASE_URL),
            self.clock,
            redirect_allowlist=REDIRECT_ALLOWLIST,
            events=EventPublisher(self.queues),
            on_step=self.funnel.record,
        )


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def invitation_service(fakes: Fakes) -> InvitationService:
    return fakes.invitation_service()
