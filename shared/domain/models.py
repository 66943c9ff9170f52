"""Pydantic models at the edges: what the API accepts and returns, and what is stored."""

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal, get_args

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


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    REVOKED = "revoked"
    EXPIRED = "expired"  # derived from expires_at, never stored


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


class EmailDelivery(ApiModel):
    """The invitation's latest e-mail send: an intent (queued) until the queue worker hands it to
    ACS (sent); ACS's delivery report settles it (delivered, bounced, suppressed, failed)."""

    send_id: str = Field(description="Identifies this send; also its ACS operation id, so retries are one message.")
    attempt: int = Field(description="1 for the first send, one more per resend.")
    status: EmailStatus = Field(
        description="queued: recorded, not handed over yet; sent: accepted by ACS; delivered, bounced, suppressed, "
        "failed: ACS's delivery report (failed also when it could not be handed over; see error)."
    )
    operation_id: str | None = Field(default=None, description="The ACS operation id, once ACS accepted the send.")
    error: str | None = Field(default=None, description="Why it failed, bounced or was suppressed; while queued, the last failed try.")
    queued_at: datetime = Field(description="When this send was recorded.")
    updated_at: datetime = Field(description="When its status or error last changed.")


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


class Invitation(ApiModel):
    """An invitation as stored (status is the stored one) and as returned (status is effective)."""

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
    accepted_by: SignedInUser | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    company_id: str | None = None
    completion: Completion | None = None
    revoked_at: datetime | None = None
    pending_events: list[PendingEvent] = Field(default_factory=list)
    expiry_reported: datetime | None = None  # the expires_at whose passing was reported (a resend renews it)
    # The `created` audit event lives in Data, so a create is one insert; later steps' events are in
    # the row's History column (None: created before this, an audit row holds it).
    creation: AuditEvent | None = None

    def effective_status(self, now: datetime) -> InvitationStatus:
        open_states = (InvitationStatus.PENDING, InvitationStatus.ACCEPTED)
        if self.status in open_states and now >= self.expires_at:
            return InvitationStatus.EXPIRED
        return self.status

    def outstanding_since(self) -> datetime | None:
        """Since when something decided has not been carried out (stored as the OutstandingSince
        column, which the sweeper filters on): events not yet published, a company not yet created,
        an e-mail not yet handed to ACS."""
        times = [pending.event.at for pending in self.pending_events]
        if self.completion is not None and self.completion.status == "pending":
            times.append(self.completion.updated_at)
        if self.email is not None and self.email.status == "queued":
            times.append(self.email.queued_at)
        return min(times, default=None)

    def expiry_unreported(self) -> datetime | None:
        """The expiry the `expired` lifecycle event has yet to report (stored as the ExpiryUnreported
        column, which the sweeper filters on once it is past); None once reported or when closed."""
        open_states = (InvitationStatus.PENDING, InvitationStatus.ACCEPTED)
        if self.status in open_states and self.expiry_reported != self.expires_at:
            return self.expires_at
        return None


class InvitationView(Invitation):
    """The API's representation: effective status plus the audit trail."""

    history: list[AuditEvent] = Field(default_factory=list)
    pending_events: list[PendingEvent] = Field(default_factory=list, exclude=True)  # plumbing, not the API's
    expiry_reported: datetime | None = Field(default=None, exclude=True)
    creation: AuditEvent | None = Field(default=None, exclude=True)  # shown as the history's first entry


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
