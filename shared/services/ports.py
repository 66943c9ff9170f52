"""What the services need from the outside world, as Protocols (the ports).

The Azure adapters (shared/adapters) implement them on Table Storage, Storage Queues, ACS and
MSAL; tests/fakes implements them in memory, and one contract suite (tests/contract) holds both
to the same behaviour. Services import these, never an adapter: shared/composition.py wires them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

from shared.domain.batches import BatchHeader, BatchRow, RowOutcome
from shared.domain.funnel import DayRollup, StallCandidate, Tally
from shared.domain.mail import OutgoingEmail, SendResult
from shared.domain.models import AuditEvent, Company, Invitation, InvitationStatus, Role, SignedInUser

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Versioned:
    """An invitation as the repository read (or wrote) it. `version` is the repository's own (for
    Table Storage its ETag and the trail its next write appends to): the next guarded write of the
    invitation carries it. `history`: its audit trail, oldest first, when it was read with it."""

    invitation: Invitation
    version: object
    history: list[AuditEvent] | None = None


class Sweepable(NamedTuple):
    """What the sweeper's one scan finds (see InvitationRepository.sweepable)."""

    outstanding: list[Invitation]
    expired: list[Invitation]
    reminders: list[Invitation]


class InvitationRepository(Protocol):
    """The invitations and their audit trails; every write of an invitation is guarded by its version."""

    def load(self, invitation_id: str) -> Versioned:
        """The invitation without its trail; NotFound if there is none."""
        ...

    def read(self, invitation_id: str) -> Versioned:
        """The invitation with its audit trail (the `created` event first); NotFound if there is none."""
        ...

    def insert(self, invitation: Invitation) -> Versioned:
        """Write a new invitation (its `created` event inside it); AlreadyExists if the id is taken."""
        ...

    def replace(self, current: Versioned, changed: Invitation, event: AuditEvent | None) -> Versioned:
        """Write `changed` over `current`, with `event` appended to its trail, only if nobody wrote it since
        `current` was read (else ConcurrentUpdate). The result carries the trail if `current` did."""
        ...

    def query(
        self, status: InvitationStatus | None, now: datetime, page_size: int, token: str | None
    ) -> tuple[list[Invitation], str | None]:
        """One page of the invitations with this effective status (all without one), in id order, and the
        next page's token (None after the last; InvalidInput for a token it did not hand out)."""
        ...

    def sweepable(self, outstanding_before: datetime, now: datetime, remind_before: datetime | None = None) -> Sweepable:
        """The invitations with something decided outstanding since before `outstanding_before`; the
        open invitations whose expiry passed before `now` and is not reported yet; and, given
        `remind_before`, those whose reminder is still due and whose expiry lies after `now` but not
        after `remind_before` (Invitation.reminder_expiry)."""
        ...


class InvitationLinks(Protocol):
    """The public URLs an invitation refers to (shared.routes.Links)."""

    def redeem(self, invitation_id: str) -> str: ...

    def admin_consent_help(self, invitation_id: str | None = None) -> str: ...

    def welcome(self) -> str: ...


class QueueSender(Protocol):
    def send(self, queue: str, message: dict[str, Any], *, visibility_timeout: int | None = None) -> str:
        """Put `message` (JSON) on `queue`, visible after `visibility_timeout` seconds; the message id.
        Unavailable when the queue service cannot be reached."""
        ...


class Held(NamedTuple):
    """Who holds an address's claim: the invitation, since when, and the claim's version (its ETag)."""

    invitation_id: str
    claimed_at: datetime
    etag: str


class EmailIndex(Protocol):
    """The invitations of each address, and which one holds it (the address's one open invitation)."""

    def add(self, email: str, invitation_id: str) -> None:
        """List `invitation_id` under `email` without claiming the address (idempotent)."""
        ...

    def claim(self, email: str, invitation_id: str, now: datetime) -> Held | None:
        """None if `invitation_id` now holds the address (and is listed under it); else who holds it."""
        ...

    def take_over(self, email: str, invitation_id: str, now: datetime, held: Held) -> None:
        """Move the claim from `held` to `invitation_id`, keeping the former holder listed;
        ConcurrentUpdate if the claim changed since `held` was read."""
        ...

    def page(self, email: str, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        """The invitation ids listed under `email`, a page at a time (the continuation token)."""
        ...


class IdempotencyClaim(BaseModel):
    """Which request (by its body's hash) and invitation an Idempotency-Key belongs to."""

    request_hash: str
    invitation_id: str


class IdempotencyKeys(Protocol):
    def claim(self, key: str, claim: IdempotencyClaim) -> tuple[IdempotencyClaim, bool]:
        """(the key's claim, whether it is this one): the first claim of a key wins."""
        ...


class BatchRepository(Protocol):
    def begin(self, header: BatchHeader, rows: list[BatchRow]) -> list[BatchRow]:
        """Create the header with the first rows in one write (AlreadyExists, nothing written, if the
        batch exists); the rows left for `write_rows`."""
        ...

    def write_rows(self, batch_id: str, rows: list[BatchRow]) -> None: ...

    def mark_enqueued(self, header: BatchHeader) -> None:
        """Record that the batch was handed to its queue (it stops being outstanding)."""
        ...

    def outstanding(self, created_before: datetime) -> list[BatchHeader]:
        """The batches created before `created_before` and not handed over yet."""
        ...

    def header(self, batch_id: str) -> BatchHeader:
        """NotFound if there is no such batch."""
        ...

    def load(self, batch_id: str, first: int = 0, count: int | None = None) -> tuple[BatchHeader, list[BatchRow]]:
        """The header and the rows first .. first+count-1 (all by default)."""
        ...

    def record(self, batch_id: str, outcomes: list[RowOutcome]) -> None:
        """The workers' outcomes, merged into their rows."""
        ...


class CompanyRepository(Protocol):
    def insert(self, company: Company, *, role: Role, member_name: str, at: datetime) -> None:
        """The company and its first member, together; AlreadyExists if it was created before."""
        ...

    def get(self, company_id: str) -> Company | None: ...


class UserDirectory(Protocol):
    def record_sign_in(self, user: SignedInUser, at: datetime) -> None: ...


class AdminConsentLog(Protocol):
    def record(self, tenant: str, granted: bool, error: str | None, invitation_id: str | None, at: datetime) -> None: ...

    def granted(self, tenant_id: str) -> bool:
        """Whether a grant was ever recorded for this tenant id."""
        ...


class TenantDiscovery(Protocol):
    """Which Microsoft Entra tenant has verified an e-mail domain (its OpenID discovery document)."""

    def tenant_of(self, domain: str) -> str | None:
        """The work tenant's id (lower case), or None when no work tenant has verified the domain (a
        consumer domain included); Unavailable when the answer could not be had (down, slow, garbled)."""
        ...


class KnownDomain(NamedTuple):
    """A domain's lookup as kept: its work tenant (None: none) and when it was looked up."""

    tenant_id: str | None
    checked_at: datetime


class TenantDirectory(Protocol):
    """The domain lookups kept for a while, and the invitations of each tenant (for its consent)."""

    def known(self, domain: str) -> KnownDomain | None: ...

    def remember(self, domain: str, tenant_id: str | None, at: datetime) -> None: ...

    def add(self, tenant_id: str, invitation_id: str) -> None:
        """List the invitation under its tenant (idempotent)."""
        ...

    def invitations(self, tenant_id: str) -> list[str]: ...


class EmailOperations(Protocol):
    """Which invitation an e-mail operation (an ACS message id) belongs to, for its delivery reports."""

    def remember(self, operation_id: str, invitation_id: str) -> None: ...

    def invitation_of(self, operation_id: str) -> str | None: ...


class IdentityProvider(Protocol):
    """The customer identity platform (Azure AD B2C, Entra External ID), through MSAL."""

    def begin(
        self, *, login_hint: str, ui_locales: str, force_login: bool, extra_query: dict[str, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """(the platform's sign-in page, the auth-code flow that `redeem` takes back); `extra_query` adds
        parameters to the sign-in request (e.g. id_token_hint). Unavailable when the platform's metadata cannot be read."""
        ...

    def redeem(self, flow: dict[str, Any], response: dict[str, str]) -> SignedInUser:
        """The signed-in user from the platform's redirect; SignInFailed, or Gone when the code was used."""
        ...


class SignInHints(Protocol):
    """The invitation, signed for the identity platform's policy: the invited address it shows locked."""

    def sign(self, invitation: Invitation) -> str:
        """An id_token_hint naming the invited address, valid for a few minutes."""
        ...


class EmailSender(Protocol):
    def send(self, message: OutgoingEmail, operation_id: str) -> SendResult:
        """Hand `message` over for delivery without waiting for it to be delivered. Sending again with
        the same `operation_id` sends nothing new. Problems come back as `failed`, never as exceptions."""
        ...


class SendBudget(Protocol):
    """The e-mail sending quota (shared.domain.pacing), counted for every instance at once."""

    def reserve(self, now: datetime, *, bulk: bool) -> datetime:
        """Take the next place with room for one send of this kind (bulk: a batch row's, which leaves
        a reserve to single invitations); when it may be handed to ACS (`now` if there is room now)."""
        ...


class FunnelStore(Protocol):
    """The funnel's per-day rollup and its stall index (shared.domain.funnel)."""

    def add(self, tallies: Sequence[Tally]) -> None:
        """Add steps to their days' rollups (per day a guarded read-modify-write, retried on a lost race)."""
        ...

    def days(self, first: date, last: date) -> list[DayRollup]:
        """The rollups of the days first..last that have any (one partition query)."""
        ...

    def mark_stalled(self, candidate: StallCandidate) -> None:
        """Put the invitation in the stall index at this stage (replacing its earlier stage)."""
        ...

    def clear_stalled(self, invitation_id: str) -> None:
        """Take the invitation out of the stall index (idempotent)."""
        ...

    def stalled(self, since_before: datetime, limit: int) -> list[StallCandidate]:
        """The candidates at their stage since before `since_before`, longest stalled first, at most `limit`."""
        ...
