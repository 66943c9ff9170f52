"""Pydantic models at the edges: what the API accepts and returns, and what is stored; the
invitation's lifecycle as the methods of `Invitation`."""

import re
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)
from pydantic.alias_generators import to_camel

from shared.domain.errors import Conflict, IllegalTransition
from shared.domain.ids import Uuid

Language = Literal["en", "fr", "de", "it", "es"]
LANGUAGES: tuple[str, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"
DEFAULT_TTL_DAYS = 7
MAX_TTL_DAYS = 30

# Patterns are shared with the company page, which puts them into HTML `pattern`
# attributes: they must mean the same in Python and in a browser's `v`-mode RegExp,
# hence every punctuation character inside a class is escaped.
PHONE_PATTERN = r"^\+?[0-9 \(\)\.\/\-]{6,25}$"
POSTAL_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,11}$"
VAT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 \.\-]{3,19}$"


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are an error."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


@lru_cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def _country(value: str) -> str:
    code = value.upper()
    if code not in country_codes():
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    return code


def _phone(value: str) -> str:
    if len(re.sub(r"\D", "", value)) < 6:
        raise ValueError("a phone number needs at least 6 digits")
    return value


# Characters no text from a person or a CRM may hold: C0 controls (line breaks included), DEL and
# C1 controls, which corrupt e-mail headers, logs and terminals; the line and paragraph separators;
# and the bidi embeddings, overrides and isolates, which make text display as something else
# ("Trojan Source"). Multi-line text (the message) keeps LF and CR.
_INVISIBLE = r"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"  # regex source: Python and ECMAScript alike
CONTROL_CHARACTERS = re.compile(rf"[\x00-\x1f{_INVISIBLE}]")
_CONTROL_CHARACTERS_BUT_LINE_BREAKS = re.compile(rf"[\x00-\x09\x0b\x0c\x0e-\x1f{_INVISIBLE}]")


def _without(pattern: re.Pattern[str]) -> Callable[[object], object]:
    """A validator refusing text with these characters (a URL is checked before pydantic parses it,
    which would percent-encode them silently)."""

    def check(value: object) -> object:
        if isinstance(value, str) and (found := pattern.search(value)):
            raise ValueError(f"must not contain control characters or bidirectional overrides (U+{ord(found[0]):04X})")
        return value

    return check


# The one text type of every field a person or a CRM fills in (and its multi-line variant); the
# JSON Schema carries the rule as a pattern so the OpenAPI document states it too.
SafeText = Annotated[
    str, AfterValidator(_without(CONTROL_CHARACTERS)), Field(json_schema_extra={"pattern": rf"^[^\x00-\x1f{_INVISIBLE}]*$"})
]
SafeMultilineText = Annotated[str, AfterValidator(_without(_CONTROL_CHARACTERS_BUT_LINE_BREAKS))]
Text = Annotated[SafeText, StringConstraints(min_length=1, max_length=200)]
# email-validator takes internationalized addresses (RFC 6531: `zoë@…`), so the schema says idn-email.
# Validation context for what this app wrote itself (a stored invitation, parsed back from its row):
# its addresses were validated before they were stored, so reading them skips email-validator's
# IDNA checks, the costliest part of parsing a stored invitation. What a caller sends is validated in full.
STORED: dict[str, bool] = {"stored": True}


def _unless_stored(value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> object:
    if isinstance(value, str) and isinstance(info.context, dict) and info.context.get("stored"):
        return value
    return handler(value)


Mailbox = Annotated[EmailStr, WrapValidator(_unless_stored), WithJsonSchema({"type": "string", "format": "idn-email"})]
CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
Phone = Annotated[str, StringConstraints(pattern=PHONE_PATTERN), AfterValidator(_phone)]
PostalCode = Annotated[str, StringConstraints(pattern=POSTAL_CODE_PATTERN)]
VatNumber = Annotated[str, StringConstraints(pattern=VAT_PATTERN, to_upper=True)]
WebUrl = Annotated[HttpUrl, BeforeValidator(_without(CONTROL_CHARACTERS)), Field(max_length=300)]


class CompanyData(ApiModel):
    """What sales recorded about the customer; the invitee checks and may edit it."""

    name: Text
    street: Text
    postal_code: PostalCode
    city: Text
    country: CountryCode
    vat_number: VatNumber
    phone: Phone
    website: WebUrl | None = None


class Person(ApiModel):
    email: Mailbox
    display_name: Text


class Inviter(ApiModel):
    name: Text
    organisation: Text
    email: Mailbox | None = None  # optional: the expired page then offers to write to the inviter


Role = Literal["admin", "user"]


class InvitationRequest(ApiModel):
    """Body of POST /api/invitations."""

    invitee: Person
    inviter: Inviter
    company: CompanyData
    role: Role = "admin"
    language: Language = "en"
    message: Annotated[SafeMultilineText, StringConstraints(max_length=2000)] | None = None
    ttl_days: int = Field(default=DEFAULT_TTL_DAYS, ge=1, le=MAX_TTL_DAYS)
    redirect_url: WebUrl | None = None
    # A second open invitation for the same address is refused (409) unless it is deliberate.
    allow_duplicate: bool = False
    reminders: bool = Field(default=True, description="Send one reminder before the invitation expires (REMINDER_DAYS_BEFORE_EXPIRY).")


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    REVOKED = "revoked"
    EXPIRED = "expired"  # derived from expires_at, never stored


PENDING, ACCEPTED, COMPLETED, REVOKED, EXPIRED = (
    InvitationStatus.PENDING,
    InvitationStatus.ACCEPTED,
    InvitationStatus.COMPLETED,
    InvitationStatus.REVOKED,
    InvitationStatus.EXPIRED,
)
OPEN = (PENDING, ACCEPTED, EXPIRED)  # neither completed nor revoked: can be (re)sent or revoked


AccountType = Literal["work", "social", "local"]


class SignedInUser(ApiModel):
    """Who redeemed the invitation, from the B2C ID token."""

    object_id: str
    email: str
    name: str
    account_type: AccountType
    identity_provider: str | None = None
    home_tenant_id: str | None = None


EmailStatus = Literal["queued", "sent", "delivered", "bounced", "suppressed", "failed"]
EmailKind = Literal["invitation", "reminder"]


class EmailDelivery(ApiModel):
    """The invitation's latest e-mail send: an intent (queued) until the queue worker hands it to
    ACS (sent); ACS's delivery report settles it (delivered, bounced, suppressed, failed)."""

    send_id: str = Field(description="Identifies this send; also its ACS operation id, so retries are one message.")
    attempt: int = Field(description="1 for the first send, one more per resend or reminder.")
    kind: EmailKind = Field(
        default="invitation", description="invitation: the invitation e-mail (first or resent); reminder: the one reminder."
    )
    status: EmailStatus = Field(
        description="queued: recorded, not handed over yet; sent: accepted by ACS; delivered, bounced, suppressed, "
        "failed: ACS's delivery report (failed also when it could not be handed over; see error)."
    )
    operation_id: str | None = Field(default=None, description="The ACS operation id, once ACS accepted the send.")
    error: str | None = Field(default=None, description="Why it failed, bounced or was suppressed; while queued, the last failed try.")
    queued_at: datetime = Field(description="When this send was recorded.")
    updated_at: datetime = Field(description="When its status or error last changed.")
    next_attempt_at: datetime | None = Field(
        default=None,
        description="While queued: when it is next tried, as paced to the sending quota or after ACS asked to wait "
        "(null: as soon as a worker takes it).",
    )
    reported_at: datetime | None = Field(
        default=None, description="The time of the ACS delivery report the status comes from (a later report may replace it)."
    )

    @classmethod
    def queued(cls, attempt: int, now: datetime, send_at: datetime | None = None, kind: EmailKind = "invitation") -> "EmailDelivery":
        """A new send, recorded before it is carried out (the e-mail worker sends it, not before `send_at`)."""
        return cls(
            send_id=str(uuid.uuid4()), attempt=attempt, kind=kind, status="queued", queued_at=now, updated_at=now, next_attempt_at=send_at
        )


InviterNoticeKind = Literal["completed", "bounced", "expired"]
# The audit action that tells the inviter, and what it tells them.
INVITER_NOTICES: dict[str, InviterNoticeKind] = {"completed": "completed", "email-bounced": "bounced", "expired": "expired"}


class InviterNotice(ApiModel):
    """An e-mail telling the inviter what became of their invitation (INVITER_NOTIFICATIONS): recorded
    queued in the write of the step it reports, sent by the e-mail worker under its send id."""

    kind: InviterNoticeKind
    send_id: str
    status: Literal["queued", "sent", "failed"]
    queued_at: datetime
    error: str | None = None


class EmailIntent(ApiModel):
    """The `invitation-email` queue message: which recorded send to carry out."""

    invitation_id: Uuid
    send_id: Uuid


DeliveryState = Literal["delivered", "bounced", "suppressed", "failed"]


class DeliveryReport(ApiModel):
    """What ACS reported about one e-mail operation (from its Event Grid delivery report)."""

    operation_id: Uuid  # our send id: the operation id we send with
    state: DeliveryState
    detail: str | None = None
    at: datetime | None = None  # when ACS tried the delivery (else when it published the event)


class AuditEvent(ApiModel):
    at: datetime
    action: str
    actor: str
    from_status: InvitationStatus | None = None
    to_status: InvitationStatus | None = None
    detail: str | None = None
    send_id: str | None = None  # the e-mail send an e-mail event is about
    # What a lifecycle event reports beside the status (the event is built from this row alone).
    account: SignedInUser | None = None
    company_id: str | None = None


class PendingEvent(ApiModel):
    """An audit event whose lifecycle event may not be on the events queue yet (see domain/events.py)."""

    key: str
    event: AuditEvent


CompanyCreationStatus = Literal["pending", "created", "failed"]


class Completion(ApiModel):
    """CREATE COMPANY's intent, recorded by the guarded write accepted → completed: the company the
    company-create worker writes from it, its one admin (the completing account), and how far it got."""

    company_id: str
    company: CompanyData = Field(description="The company data as the invitee submitted it.")
    contact_name: str
    account: SignedInUser = Field(description="The account that completed the invitation: the company's one admin.")
    completed_at: datetime
    status: CompanyCreationStatus = "pending"
    error: str | None = None
    updated_at: datetime


ConsentState = Literal["granted", "required", "unknown"]


class WorkAccount(ApiModel):
    """The Microsoft Entra tenant the invitee's domain belongs to (CASE 1), as the e-mail worker found it,
    and whether the tenant's administrator consented to the app (docs/decisions/0021-admin-consent-known-before-sign-in.md)."""

    tenant_id: str = Field(description="The Entra tenant id the invitee's e-mail domain belongs to.")
    consent: ConsentState = Field(
        description="granted: the tenant's administrator consented; required: no consent recorded yet, so the invitee's "
        "first sign-in may ask for it; unknown: whether it consented could not be read."
    )
    approval_notice_send_id: str | None = Field(
        default=None,
        description="Once the tenant consented while the invitation was pending: the send id of the e-mail telling the invitee.",
    )
    approval_notice_sent_at: datetime | None = Field(default=None, description="When that e-mail was handed over for delivery.")
    approved_at: datetime | None = Field(default=None, description="When the tenant's consent reached this invitation.")


@dataclass(frozen=True)
class Change:
    """What a step makes of an invitation: the invitation to write, and the audit event the step
    records (None for bookkeeping that records none, such as a noted error)."""

    invitation: "Invitation"
    event: AuditEvent | None


class Invitation(ApiModel):
    """An invitation as stored (status is the stored one) and as returned (status is effective).

    Its lifecycle: pending → accepted (signed in) → completed (company created); pending/accepted →
    revoked; accepted → pending (reset); expired is derived from expires_at. Each step is a method
    that enforces these rules (IllegalTransition otherwise) and returns the Change it makes, or None
    when there is nothing to write: the step already happened (a repeat, which is success) or a
    message about it is stale.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    status: InvitationStatus
    invitee: Person
    inviter: Inviter
    company: CompanyData
    role: Role
    language: Language
    message: str | None = None
    ttl_days: int
    redirect_url: str | None = None
    created_at: datetime
    expires_at: datetime
    invite_redeem_url: str
    email: EmailDelivery | None = None
    opened_at: datetime | None = None  # the first time the e-mail's link was opened while pending
    accepted_by: SignedInUser | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    company_id: str | None = None
    completion: Completion | None = None
    revoked_at: datetime | None = None
    pending_events: list[PendingEvent] = Field(default_factory=list)
    expiry_reported: datetime | None = None  # the expires_at whose passing was reported (a resend renews it)
    reminders: bool = True  # staff may opt out of the reminder per invitation
    reminded_at: datetime | None = None  # when the one reminder was queued
    inviter_notices: list[InviterNotice] = Field(default_factory=list)
    work_account: WorkAccount | None = None  # None: not a work tenant's address, or not found out (yet)
    # The `created` audit event lives in the invitation, so a create is one write; later steps' events
    # are kept beside it by the repository (the audit trail).
    creation: AuditEvent | None = None

    @classmethod
    def issue(
        cls,
        request: InvitationRequest,
        *,
        invitation_id: str,
        actor: str,
        redeem_url: str,
        now: datetime,
        send_at: datetime | None = None,
    ) -> Change:
        """A new pending invitation with its first e-mail queued (to go at `send_at`, its place in the
        sending quota, if known); its `created` event lives in it."""
        email = EmailDelivery.queued(attempt=1, now=now, send_at=send_at)
        created = AuditEvent(at=now, action="created", actor=actor, to_status=PENDING, send_id=email.send_id)
        invitation = cls(
            id=invitation_id,
            status=PENDING,
            invitee=request.invitee,
            inviter=request.inviter,
            company=request.company,
            role=request.role,
            language=request.language,
            message=request.message,
            ttl_days=request.ttl_days,
            redirect_url=str(request.redirect_url) if request.redirect_url else None,
            created_at=now,
            expires_at=now + timedelta(days=request.ttl_days),
            invite_redeem_url=redeem_url,
            email=email,
            reminders=request.reminders,
            creation=created,
        )
        return Change(invitation, created)

    def is_accepted_by(self, user: SignedInUser) -> bool:
        """Whether `user` is the one who redeemed this (still accepted) invitation."""
        return self.status == ACCEPTED and self.accepted_by is not None and self.accepted_by.object_id == user.object_id

    def open_link(self, now: datetime) -> Change | None:
        """Record the first open of the e-mail's link (audit `link-opened`, no lifecycle event); None
        once recorded, or when the invitation is no longer pending (the open leads nowhere then)."""
        if self.opened_at is not None or self.effective_status(now) != PENDING:
            return None
        return self._record("link-opened", self.invitee.email, now, {"opened_at": now})

    def accept(self, user: SignedInUser, now: datetime) -> Change | None:
        """pending → accepted by `user`; None if `user` accepted it already (another tab, a second
        callback). IllegalTransition when someone else redeemed it or it closed."""
        if self.is_accepted_by(user):
            return None
        self._require("accepted", now, (PENDING,))
        return self._record("accepted", user.email, now, {"status": ACCEPTED, "accepted_by": user, "accepted_at": now}, account=user)

    def complete(self, completion: Completion, now: datetime) -> Change | None:
        """accepted → completed by the account that accepted it, recording CREATE COMPANY's intent; None
        if that account completed it already (a double submit, a second tab: whichever tab's data won).
        Conflict `invitation-not-theirs` if it was reset (and maybe accepted by another account) since."""
        user = completion.account
        if self.status == COMPLETED and self.completion is not None and self.completion.account.object_id == user.object_id:
            return None
        self._require("completed", now, (ACCEPTED,))
        if not self.is_accepted_by(user):
            raise Conflict(f"Invitation {self.id} is not accepted by this account.", code="invitation-not-theirs")
        intent = completion.model_copy(update={"completed_at": now, "updated_at": now})
        update = {"status": COMPLETED, "completed_at": now, "company_id": completion.company_id, "completion": intent}
        return self._record("completed", user.email, now, update, account=user, company_id=completion.company_id)

    def revoke(self, actor: str, now: datetime) -> Change:
        self._require("revoked", now, OPEN)
        return self._record("revoked", actor, now, {"status": REVOKED, "revoked_at": now})

    def reset(self, actor: str, now: datetime) -> Change:
        """Like Graph's resetRedemption: an accepted, not completed invitation can be redeemed again."""
        self._require("redemption-reset", now, (ACCEPTED,))
        return self._record("redemption-reset", actor, now, {"status": PENDING, "accepted_by": None, "accepted_at": None})

    def resend(self, actor: str, now: datetime) -> Change | None:
        """Record a new send (the next attempt); an expired invitation gets a fresh expiry, so the link
        in the new e-mail works. None while the last send is still queued: that one is the answer, so
        pressing resend twice sends one e-mail. A revoked or completed invitation cannot be resent,
        whether or not its last e-mail has left yet."""
        self._require("email-resent", now, OPEN)
        if self.email is not None and self.email.status == "queued":
            return None
        email = EmailDelivery.queued(attempt=self.email.attempt + 1 if self.email else 1, now=now)
        renewed = now + timedelta(days=self.ttl_days) if self.effective_status(now) == EXPIRED else self.expires_at
        return self._record("email-resent", actor, now, {"email": email, "expires_at": renewed}, send_id=email.send_id)

    def record_email(
        self,
        send_id: str,
        status: EmailStatus,
        *,
        after: tuple[EmailStatus, ...],
        actor: str,
        now: datetime,
        operation_id: str | None = None,
        error: str | None = None,
    ) -> Change | None:
        """Move send `send_id` to `status` (audit `email-{status}`) if it is still the invitation's send
        and in one of the states `after`; else None (a stale or repeated message or report). Whatever
        the invitation's status: the e-mail's fate is recorded even after a revoke."""
        email = self.email
        if email is None or email.send_id != send_id or email.status not in after:
            return None
        outcome = {
            "status": status,
            "operation_id": operation_id or email.operation_id,
            "error": error,
            "updated_at": now,
            "next_attempt_at": None,
        }
        return self._record(f"email-{status}", actor, now, {"email": email.model_copy(update=outcome)}, detail=error, send_id=send_id)

    def settle_email(self, report: DeliveryReport, *, actor: str, now: datetime) -> Change | None:
        """Record ACS's delivery report (audit `email-{state}`) on the send it is about. A send still
        queued or sent takes any report; a reported send takes only a report of another state made
        later (a bounce after "Delivered"), so a duplicate or a report older than the one recorded
        is a no-op (None), whatever order Event Grid delivers them in."""
        email = self.email
        if email is None or email.send_id != report.operation_id:
            return None
        if email.status not in ("queued", "sent"):
            newer = report.at is not None and email.reported_at is not None and report.at > email.reported_at
            if not newer or report.state == email.status:
                return None
        error = None if report.state == "delivered" else report.detail or f"ACS reported the e-mail {report.state}"
        outcome = {
            "status": report.state,
            "operation_id": report.operation_id,
            "error": error,
            "updated_at": now,
            "next_attempt_at": None,
            "reported_at": report.at,
        }
        return self._record(
            f"email-{report.state}", actor, now, {"email": email.model_copy(update=outcome)}, detail=error, send_id=email.send_id
        )

    def defer_email(self, send_id: str, until: datetime, now: datetime, error: str | None = None) -> Change | None:
        """Keep the queued send for `until` (its place in the sending quota, or when ACS asked to be
        tried again), with why if it was throttled; no audit event: the send is still on its way."""
        email = self.email
        if email is None or email.send_id != send_id or email.status != "queued":
            return None
        update = {"next_attempt_at": until, "updated_at": now} | ({"error": error} if error else {})
        return Change(self.model_copy(update={"email": email.model_copy(update=update)}), None)

    def note_email_error(self, send_id: str, error: str, now: datetime) -> Change | None:
        """Keep a try's error on the queued send (no audit event: the send is still being tried)."""
        email = self.email
        if email is None or email.send_id != send_id or email.status != "queued":
            return None
        return Change(self.model_copy(update={"email": email.model_copy(update={"error": error, "updated_at": now})}), None)

    def record_company(self, status: CompanyCreationStatus, error: str | None, now: datetime) -> Change | None:
        """The company-create worker's outcome on the pending completion (created, or failed with the
        error); None if an outcome was recorded first (another delivery of the message): that one stands."""
        if self.completion is None or self.completion.status != "pending":
            return None
        action = "company-created" if status == "created" else "company-failed"
        self._require(action, now, (COMPLETED,))
        outcome = self.completion.model_copy(update={"status": status, "error": error, "updated_at": now})
        return self._record(action, "company-create", now, {"completion": outcome}, detail=error)

    def note_company_error(self, company_id: str, error: str) -> Change | None:
        """An attempt's error on the pending completion (no audit event: the outcome gets one)."""
        completion = self.completion
        if completion is None or completion.company_id != company_id or completion.status != "pending":
            return None
        return Change(self.model_copy(update={"completion": completion.model_copy(update={"error": error})}), None)

    def report_expiry(self, now: datetime) -> Change | None:
        """Record that the expiry passed (audit `expired`, the lifecycle event no write would take
        otherwise); None if it was reported already, IllegalTransition if it was renewed or closed."""
        if self.expiry_unreported() is None:
            return None
        self._require("expired", now, (EXPIRED,))
        return self._record("expired", "expiry", now, {"expiry_reported": self.expires_at})

    def remind(self, now: datetime, days_before: int) -> Change | None:
        """Queue the one reminder (audit `reminder-queued`, its send a new attempt of kind reminder) once
        the expiry is at most `days_before` days away; None when none is due: reminders off, one queued
        already, not pending, its e-mail not delivered, too early, expired, or an invitation no longer
        than `days_before` days (its reminder would follow the invitation at once)."""
        expiry = self.reminder_expiry()
        if expiry is None or days_before <= 0 or self.ttl_days <= days_before or not expiry - timedelta(days=days_before) <= now < expiry:
            return None
        email = EmailDelivery.queued(attempt=self.email.attempt + 1 if self.email else 1, now=now, kind="reminder")
        return self._record("reminder-queued", "reminder", now, {"email": email, "reminded_at": now}, send_id=email.send_id)

    def notify_inviter(self, kind: InviterNoticeKind, now: datetime) -> "Invitation | None":
        """The invitation with a notice of `kind` to its inviter queued (it joins the write of the step
        it reports); None if the inviter gave no address or was told of this already."""
        if self.inviter.email is None or any(notice.kind == kind for notice in self.inviter_notices):
            return None
        notice = InviterNotice(kind=kind, send_id=str(uuid.uuid4()), status="queued", queued_at=now)
        return self.model_copy(update={"inviter_notices": [*self.inviter_notices, notice]})

    def inviter_notice(self, send_id: str) -> InviterNotice | None:
        return next((notice for notice in self.inviter_notices if notice.send_id == send_id), None)

    def record_notice(self, send_id: str, status: Literal["sent", "failed"], now: datetime, error: str | None = None) -> Change | None:
        """The queued notice `send_id` sent (audit `inviter-told`) or failed (`inviter-notice-failed`);
        None if it is not queued (a repeated message)."""
        notice = self.inviter_notice(send_id)
        if notice is None or notice.status != "queued":
            return None
        notices = [item.model_copy(update={"status": status, "error": error}) if item is notice else item for item in self.inviter_notices]
        action = "inviter-told" if status == "sent" else "inviter-notice-failed"
        return self._record(action, "inviter-notice", now, {"inviter_notices": notices}, detail=error or notice.kind, send_id=send_id)

    def note_work_account(self, account: WorkAccount) -> Change | None:
        """Keep what the tenant lookup found (no audit event: a finding, not a step); None if it is
        known already. A consent recorded by `approve_work_account` is never taken back by a lookup."""
        known = self.work_account
        if known is not None and (known.tenant_id, known.consent) == (account.tenant_id, account.consent):
            return None
        if known is not None and known.tenant_id == account.tenant_id and known.consent == "granted":
            return None
        return Change(self.model_copy(update={"work_account": account}), None)

    def approve_work_account(self, tenant_id: str, now: datetime) -> Change | None:
        """The invitee's tenant consented (audit `work-account-approved`): record it, with the send of the
        e-mail that tells a pending invitee they can go on. None unless the invitation is pending, belongs
        to that tenant and was not approved before, so the invitee is told once."""
        account = self.work_account
        if account is None or account.tenant_id != tenant_id or account.consent == "granted":
            return None
        if self.effective_status(now) != PENDING:
            return None
        approved = account.model_copy(update={"consent": "granted", "approval_notice_send_id": str(uuid.uuid4()), "approved_at": now})
        return self._record(
            "work-account-approved", "admin-consent", now, {"work_account": approved}, send_id=approved.approval_notice_send_id
        )

    def record_approval_notice(self, send_id: str, now: datetime) -> Change | None:
        """The approval e-mail `send_id` was handed over (audit `approval-notice-sent`); None if it is not
        this invitation's notice or was recorded before."""
        account = self.work_account
        if account is None or account.approval_notice_send_id != send_id or account.approval_notice_sent_at is not None:
            return None
        sent = account.model_copy(update={"approval_notice_sent_at": now})
        return self._record("approval-notice-sent", "invitation-email-worker", now, {"work_account": sent}, send_id=send_id)

    def drop_approval_notice(self, send_id: str) -> Change | None:
        """The invitee signed in, or the invitation closed, before the approval e-mail went: there is
        nothing to tell any more (no audit event); None if it is not this invitation's unsent notice."""
        account = self.work_account
        if account is None or account.approval_notice_send_id != send_id or account.approval_notice_sent_at is not None:
            return None
        return Change(self.model_copy(update={"work_account": account.model_copy(update={"approval_notice_send_id": None})}), None)

    def approval_notice_due(self) -> str | None:
        """The send id of the approval e-mail still to hand over, if any."""
        account = self.work_account
        if account is None or account.approval_notice_sent_at is not None:
            return None
        return account.approval_notice_send_id

    def _require(self, action: str, now: datetime, allowed: Collection[InvitationStatus]) -> None:
        status = self.effective_status(now)
        if status not in allowed:
            raise IllegalTransition(action, self.id, status)

    def _record(
        self,
        action: str,
        actor: str,
        now: datetime,
        update: dict[str, Any],
        *,
        detail: str | None = None,
        account: SignedInUser | None = None,
        company_id: str | None = None,
        send_id: str | None = None,
    ) -> Change:
        """The invitation with `update`, and the audit event of the step from the status it had to the one it has."""
        changed = self.model_copy(update=update)
        event = AuditEvent(
            at=now,
            action=action,
            actor=actor,
            from_status=self.effective_status(now),
            to_status=changed.effective_status(now),
            detail=detail,
            account=account,
            company_id=company_id,
            send_id=send_id,
        )
        return Change(changed, event)

    def effective_status(self, now: datetime) -> InvitationStatus:
        if self.status in (PENDING, ACCEPTED) and now >= self.expires_at:
            return EXPIRED
        return self.status

    def outstanding_since(self) -> datetime | None:
        """Since when something decided has not been carried out (stored as the OutstandingSince
        column, which the sweeper filters on): events not yet published, a company not yet created,
        an e-mail (or a notice to the inviter) not yet handed to ACS."""
        times = [pending.event.at for pending in self.pending_events]
        if self.completion is not None and self.completion.status == "pending":
            times.append(self.completion.updated_at)
        if self.email is not None and self.email.status == "queued":
            # A send paced to the quota is outstanding from when it is due, not from when it was queued.
            times.append(self.email.next_attempt_at or self.email.queued_at)
        times.extend(notice.queued_at for notice in self.inviter_notices if notice.status == "queued")
        if self.approval_notice_due() is not None and self.work_account is not None and self.work_account.approved_at is not None:
            times.append(self.work_account.approved_at)
        return min(times, default=None)

    def expiry_unreported(self) -> datetime | None:
        """The expiry the `expired` lifecycle event has yet to report (stored as the ExpiryUnreported
        column, which the sweeper filters on once it is past); None once reported or when closed."""
        if self.status in (PENDING, ACCEPTED) and self.expiry_reported != self.expires_at:
            return self.expires_at
        return None

    def reminder_expiry(self) -> datetime | None:
        """The expiry a reminder is still to go out before (stored as the ReminderExpiry column, which
        the sweeper filters on once it is near): while pending with its e-mail delivered, reminders on
        and none queued yet; else None."""
        delivered = self.email is not None and self.email.status == "delivered"
        if self.reminders and self.reminded_at is None and self.status == PENDING and delivered:
            return self.expires_at
        return None


class InvitationView(Invitation):
    """The API's representation: effective status plus the audit trail."""

    history: list[AuditEvent] = Field(default_factory=list)
    pending_events: list[PendingEvent] = Field(default_factory=list, exclude=True)  # plumbing, not the API's
    expiry_reported: datetime | None = Field(default=None, exclude=True)
    creation: AuditEvent | None = Field(default=None, exclude=True)  # shown as the history's first entry
    inviter_notices: list[InviterNotice] = Field(default_factory=list, exclude=True)  # their sends are in the history


class InvitationPage(ApiModel):
    value: list[InvitationView]
    continuation_token: str | None = None


class ListQuery(ApiModel):
    """Query string of GET /api/invitations."""

    status: InvitationStatus | None = None
    email: Mailbox | None = None
    continuation_token: str | None = None
    page_size: int = Field(default=50, ge=1, le=200)


class CompanyForm(CompanyData):
    """The company page's submission: the company data plus the invitee's own details."""

    model_config = ConfigDict(extra="ignore")

    contact_name: Text


class Company(ApiModel):
    id: str
    invitation_id: str
    data: CompanyData
    created_at: datetime
    created_by: SignedInUser


class CompanyCreateMessage(ApiModel):
    """A company-create queue message: which completion to carry out (a stale or repeated one is a no-op)."""

    invitation_id: Uuid
    company_id: Uuid


class FieldError(ApiModel):
    """One validation error: the JSON Pointer of the field and what is wrong with it."""

    pointer: str
    detail: str


def field_errors(error: ValidationError, prefix: str = "") -> list[FieldError]:
    """pydantic's errors as JSON Pointers under `prefix`, with its message but not the input echoed."""
    return [
        FieldError(pointer=prefix + "".join(f"/{part}" for part in item["loc"]) if item["loc"] else prefix or "/", detail=item["msg"])
        for item in error.errors(include_url=False, include_input=False)
    ]
