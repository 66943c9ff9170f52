"""Lifecycle events for downstream systems (the CRM): CloudEvents 1.0, JSON structured mode.

An event reports one audit event of an invitation and is built from it alone, so every
publication of the same step (right after the write, again by the sweeper, by a retried
worker) is the same event with the same id, `{invitationId}/{auditKey}`: delivery is at
least once and consumers dedupe by id.
"""

import hashlib
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.models import ApiModel, AuditEvent, InvitationStatus, PendingEvent

EVENT_SOURCE: Final = "/invitations"
EVENT_TYPE_PREFIX = "com.rconnect.invitation."
# Audit action → event type suffix; actions not listed (a resend's bookkeeping, …) publish nothing.
EVENT_TYPES: dict[str, str] = {
    "created": "created",
    "accepted": "accepted",
    "completed": "completed",
    "revoked": "revoked",
    "redemption-reset": "reset",
    "expired": "expired",
    "reminder-queued": "reminder.queued",
    "email-sent": "email.sent",
    "email-delivered": "email.delivered",
    "email-bounced": "email.bounced",
}


class EventAccount(ApiModel):
    """The B2C account that accepted or completed the invitation."""

    object_id: str
    email: str
    account_type: str


class InvitationEventData(ApiModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    invitation_id: str
    action: str = Field(description="The audit action the event reports.")
    status: InvitationStatus | None = Field(description="The invitation's status after the step.")
    previous_status: InvitationStatus | None
    actor: str = Field(description="Staff principal, API key name, or the invitee's e-mail.")
    company_id: str | None = Field(default=None, description="Set on `completed`: the company being created.")
    account: EventAccount | None = Field(default=None, description="Set on `accepted` and `completed`.")
    send_id: str | None = Field(default=None, description="Set on e-mail events: the send (one attempt) they are about.")
    detail: str | None = Field(default=None, description="The step's detail, e.g. why an e-mail bounced.")


class InvitationEvent(BaseModel):
    """A lifecycle event: a CloudEvent 1.0 in JSON structured mode (attribute names as the spec
    spells them), base64-encoded on the `invitation-events` Storage Queue. Delivery is at least
    once: dedupe by `id`."""

    # Every attribute is always sent: the published schema says so (defaults included).
    model_config = ConfigDict(extra="forbid", title="InvitationEvent", json_schema_serialization_defaults_required=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(description="`{invitationId}/{auditKey}`: the same for every delivery of this step.")
    source: Literal["/invitations"] = EVENT_SOURCE
    type: str = Field(pattern=r"^com\.rconnect\.invitation\.[a-z.]+$")
    subject: str = Field(description="The invitation id.")
    time: datetime = Field(description="When the step happened (its audit event's time).")
    datacontenttype: Literal["application/json"] = "application/json"
    data: InvitationEventData


def audit_key(event: AuditEvent) -> str:
    """An audit event's key, known before the write (its lifecycle event's id is built from it):
    time-ordered, and two different events at the same microsecond still get two keys."""
    digest = hashlib.sha256(event.model_dump_json().encode()).hexdigest()[:8]
    return f"audit-{event.at.strftime('%Y%m%dT%H%M%S%fZ')}-{digest}"


def pending_for(event: AuditEvent | None) -> list[PendingEvent]:
    """The lifecycle event a step's audit event causes, pending until it is published (none for an
    action that publishes nothing, or a step that records no audit event)."""
    return [PendingEvent(key=audit_key(event), event=event)] if event is not None and event.action in EVENT_TYPES else []


def event_for(invitation_id: str, pending: PendingEvent) -> InvitationEvent:
    """The event reporting this audit event (its action is one of EVENT_TYPES)."""
    audit, account = pending.event, pending.event.account
    return InvitationEvent(
        id=f"{invitation_id}/{pending.key}",
        type=EVENT_TYPE_PREFIX + EVENT_TYPES[audit.action],
        subject=invitation_id,
        time=audit.at,
        data=InvitationEventData(
            invitation_id=invitation_id,
            action=audit.action,
            status=audit.to_status,
            previous_status=audit.from_status,
            actor=audit.actor,
            company_id=audit.company_id,
            send_id=audit.send_id,
            detail=audit.detail,
            account=EventAccount(object_id=account.object_id, email=account.email, account_type=account.account_type) if account else None,
        ),
    )
