"""In-memory implementations of the invitation's ports, for tests that start no process.

Each honours the contract of its Azure adapter (tests/contract holds both to it): a write guarded
by a stale version is ConcurrentUpdate, an insert of a taken key is AlreadyExists, an address's
claim is taken over only from the holder that was read, pages come with tokens (InvalidInput for
one they did not hand out), and a queue message stays invisible for its visibility timeout.
Invitations are kept as their JSON, so what comes back is parsed like a stored row.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.errors import AlreadyExists, ConcurrentUpdate, InvalidInput, NotFound, Unavailable
from shared.domain.models import STORED, AuditEvent, Invitation, InvitationStatus
from shared.services.ports import Held, IdempotencyClaim, Sweepable, Versioned

_etags = itertools.count(1)


def _etag() -> str:
    return f'W/"{next(_etags)}"'


class SettableClock:
    """A clock the test sets or moves; services read the time only through it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2030, 3, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _token(key: str | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps({"next": key}).encode()).decode() if key is not None else None


def _after_token(token: str | None) -> str | None:
    """The key a page starts at, from a token `_token` made (InvalidInput for any other)."""
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))["next"]
    except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise InvalidInput("continuationToken is not a token this API returned.") from None
    if not isinstance(key, str):
        raise InvalidInput("continuationToken is not a token this API returned.")
    return key


def _page(keys: list[str], page_size: int, token: str | None) -> tuple[list[str], str | None]:
    """The keys (sorted) from the token's on, `page_size` of them, and the token of the next page."""
    start = _after_token(token)
    remaining = [key for key in keys if start is None or key >= start]
    page, rest = remaining[:page_size], remaining[page_size:]
    return page, _token(rest[0] if rest else None)


@dataclass
class _Row:
    data: str  # the invitation as JSON, as the Data column holds it
    etag: str
    history: list[AuditEvent] = field(default_factory=list)  # the events after `created`


class MemoryInvitations:
    """The InvitationRepository in memory: `version` is the row's ETag."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()

    def _row(self, invitation_id: str) -> _Row:
        row = self._rows.get(invitation_id)
        if row is None:
            raise NotFound(f"No invitation has the id {invitation_id}.")
        return row

    def load(self, invitation_id: str) -> Versioned:
        with self._lock:
            row = self._row(invitation_id)
            return Versioned(_parsed(row.data), row.etag)

    def read(self, invitation_id: str) -> Versioned:
        with self._lock:
            row = self._row(invitation_id)
            invitation = _parsed(row.data)
            creation = [] if invitation.creation is None else [invitation.creation]
            return Versioned(invitation, row.etag, [*creation, *row.history])

    def insert(self, invitation: Invitation) -> Versioned:
        with self._lock:
            if invitation.id in self._rows:
                raise AlreadyExists(f"Invitation {invitation.id} already exists.", code="already-exists")
            row = self._rows[invitation.id] = _Row(invitation.model_dump_json(), _etag())
            stored = _parsed(row.data)
            return Versioned(stored, row.etag, [] if stored.creation is None else [stored.creation])

    def replace(self, current: Versioned, changed: Invitation, event: AuditEvent | None) -> Versioned:
        with self._lock:
            row = self._rows.get(changed.id)
            if row is None or row.etag != current.version:
                raise ConcurrentUpdate(f"Invitation {changed.id} was changed by another request; try again.", code="concurrent-update")
            row.data, row.etag = changed.model_dump_json(), _etag()
            appended = [] if event is None else [AuditEvent.model_validate_json(event.model_dump_json())]
            row.history.extend(appended)
            trail = None if current.history is None else [*current.history, *appended]
            return Versioned(_parsed(row.data), row.etag, trail)

    def query(
        self, status: InvitationStatus | None, now: datetime, page_size: int, token: str | None
    ) -> tuple[list[Invitation], str | None]:
        with self._lock:
            invitations = {key: _parsed(row.data) for key, row in self._rows.items()}
        matching = sorted(key for key, item in invitations.items() if status is None or item.effective_status(now) == status)
        ids, next_token = _page(matching, page_size, token)
        return [invitations[key] for key in ids], next_token

    def sweepable(self, outstanding_before: datetime, now: datetime, remind_before: datetime | None = None) -> Sweepable:
        with self._lock:
            invitations = [_parsed(row.data) for _, row in sorted(self._rows.items())]
        outstanding = [item for item in invitations if (since := item.outstanding_since()) is not None and since < outstanding_before]
        expired = [item for item in invitations if (expiry := item.expiry_unreported()) is not None and expiry < now]
        reminders = [] if remind_before is None else [item for item in invitations if _remindable(item, now, remind_before)]
        return Sweepable(outstanding, expired, reminders)


def _remindable(invitation: Invitation, now: datetime, remind_before: datetime) -> bool:
    expiry = invitation.reminder_expiry()
    return expiry is not None and now < expiry <= remind_before


def _parsed(data: str) -> Invitation:
    return Invitation.model_validate_json(data, context=STORED)


CLAIM_ROW = "open"  # as in the table: the claim sorts after every invitation id


@dataclass
class _Address:
    claim: Held | None = None
    listed: set[str] = field(default_factory=set)


class MemoryEmailIndex:
    """The EmailIndex in memory: per address (case-insensitive), its claim and the ids listed under it."""

    def __init__(self) -> None:
        self._addresses: defaultdict[str, _Address] = defaultdict(_Address)
        self._lock = threading.Lock()

    def add(self, email: str, invitation_id: str) -> None:
        with self._lock:
            self._addresses[email.lower()].listed.add(invitation_id)

    def claim(self, email: str, invitation_id: str, now: datetime) -> Held | None:
        with self._lock:
            address = self._addresses[email.lower()]
            if address.claim is not None:
                return address.claim
            address.claim = Held(invitation_id, now, _etag())
            return None

    def take_over(self, email: str, invitation_id: str, now: datetime, held: Held) -> None:
        with self._lock:
            address = self._addresses[email.lower()]
            if address.claim is None or address.claim.etag != held.etag:
                raise ConcurrentUpdate("The address's open invitation was changed by another request; try again.", code="concurrent-update")
            address.listed.add(held.invitation_id)
            address.claim = Held(invitation_id, now, _etag())

    def page(self, email: str, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        with self._lock:
            address = self._addresses.get(email.lower()) or _Address()
            rows = {invitation_id: invitation_id for invitation_id in address.listed}
            if address.claim is not None:
                rows[CLAIM_ROW] = address.claim.invitation_id
        keys, next_token = _page(sorted(rows), page_size, token)
        return list(dict.fromkeys(rows[key] for key in keys)), next_token


class MemoryIdempotencyKeys:
    """IdempotencyKeys in memory: the first claim of a key wins."""

    def __init__(self) -> None:
        self._claims: dict[str, IdempotencyClaim] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, claim: IdempotencyClaim) -> tuple[IdempotencyClaim, bool]:
        with self._lock:
            earlier = self._claims.get(key)
            if earlier is not None:
                return earlier.model_copy(), False
            self._claims[key] = claim.model_copy()
            return claim, True


@dataclass(frozen=True)
class QueuedMessage:
    id: str
    content: dict[str, Any]
    visible_at: datetime


class MemoryQueues:
    """A QueueSender in memory: what was sent to each queue (as JSON would carry it), visible once
    the clock passes its visibility timeout; `go_down` makes sends fail with Unavailable."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._queues: defaultdict[str, list[QueuedMessage]] = defaultdict(list)
        self._down: set[str] | None = set()  # None: every queue is down
        self._lock = threading.Lock()

    def send(self, queue: str, message: dict[str, Any], *, visibility_timeout: int | None = None) -> str:
        if self._down is None or queue in self._down:
            raise Unavailable(f"Storage cannot be reached (Queue {queue}).", code="storage-unavailable")
        content = json.loads(json.dumps(message))
        with self._lock:
            queued = QueuedMessage(str(uuid.uuid4()), content, self._clock() + timedelta(seconds=visibility_timeout or 0))
            self._queues[queue].append(queued)
        return queued.id

    def go_down(self, *queues: str) -> None:
        """Answer Unavailable for these queues (all of them if none is named) until `come_back`."""
        if not queues:
            self._down = None
        elif self._down is not None:
            self._down |= set(queues)

    def come_back(self) -> None:
        self._down = set()

    def messages(self, queue: str) -> list[dict[str, Any]]:
        """Every message sent to `queue`, in order, visible or not."""
        with self._lock:
            return [message.content for message in self._queues[queue]]

    def visible(self, queue: str) -> list[dict[str, Any]]:
        """The messages of `queue` a receiver would get now."""
        now = self._clock()
        with self._lock:
            return [message.content for message in self._queues[queue] if message.visible_at <= now]
