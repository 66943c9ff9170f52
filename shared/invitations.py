"""The invitation lifecycle: issue, e-mail, list, and the guarded status transitions.

pending → accepted (signed in) → completed (company created); pending/accepted → revoked;
expired is derived from expires_at. Every transition re-reads and re-checks the invitation
when its ETag-guarded write loses a race, so two conflicting transitions never both succeed.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache

from azure.core.exceptions import ResourceExistsError

from shared import invitation_store as store
from shared.clock import utcnow
from shared.errors import Conflict, IdempotencyMismatch, InvalidInput, NotFound
from shared.mail import EmailSender, create_sender
from shared.mail.invitation_email import render_invitation_email
from shared.models import (
    AuditEvent,
    EmailDelivery,
    Invitation,
    InvitationPage,
    InvitationRequest,
    InvitationStatus,
    InvitationView,
    ListQuery,
    SignedInUser,
)
from shared.settings import get_settings
from shared.storage import IDEMPOTENCY_KEYS, table

log = logging.getLogger(__name__)
PENDING, ACCEPTED, COMPLETED, REVOKED, EXPIRED = (
    InvitationStatus.PENDING,
    InvitationStatus.ACCEPTED,
    InvitationStatus.COMPLETED,
    InvitationStatus.REVOKED,
    InvitationStatus.EXPIRED,
)
_RACE_RETRIES = 3


def redeem_url(invitation_id: str) -> str:
    # Links already in customers' inboxes use exactly this shape: never change it.
    return f"{get_settings().base_url}/api/InviteUser?invitationId={invitation_id}"


def admin_consent_help_url(invitation_id: str) -> str:
    return f"{get_settings().base_url}/api/AdminConsent?invitationId={invitation_id}"


@lru_cache
def _sender() -> EmailSender:
    return create_sender(get_settings())


def view(invitation: Invitation, now: datetime | None = None, *, with_history: bool = True) -> InvitationView:
    """The API representation: effective status and (for single reads) the audit trail."""
    current = invitation.model_copy(update={"status": invitation.effective_status(now or utcnow())})
    return InvitationView(**dict(current), history=store.history(invitation.id) if with_history else [])


def check_redirect_allowed(url: object | None) -> None:
    """A completion redirect must start with an entry of REDIRECT_ALLOWLIST (an origin or URL prefix)."""
    if url is None:
        return
    target = str(url)
    allowed = get_settings().redirect_allowlist
    if not any(target == entry or target.startswith((entry + "/", entry + "?")) for entry in allowed):
        raise InvalidInput(f"redirectUrl {target} is not in the allow-list of this service.", code="redirect-not-allowed")


def get(invitation_id: str) -> Invitation:
    return store.load(invitation_id)[0]


def create(request: InvitationRequest, *, actor: str, idempotency_key: str | None) -> tuple[InvitationView, bool]:
    """Issue an invitation and e-mail it; (view, created). A replayed key returns the first result."""
    invitation_id = str(uuid.uuid4())
    if idempotency_key:
        invitation_id, replay = _claim_idempotency_key(idempotency_key, request, invitation_id)
        if replay:
            return view(get(invitation_id)), False
    now = utcnow()
    invitation = Invitation(
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
        invite_redeem_url=redeem_url(invitation_id),
    )
    try:
        etag = store.insert(invitation, AuditEvent(at=now, action="created", actor=actor, to_status=PENDING))
    except Conflict as conflict:
        if not idempotency_key:
            raise
        # A concurrent request with the same key wrote it first: that one sends the e-mail, this is a replay.
        try:
            return view(get(invitation_id)), False
        except NotFound:
            raise conflict from None
    return view(_deliver(invitation_id, actor, action="email-sent", current=(invitation, etag))), True


def _claim_idempotency_key(key: str, request: InvitationRequest, new_id: str) -> tuple[str, bool]:
    """(invitation id, is_replay). The key is claimed before the invitation is written, so a
    retry after a crash in between finishes the same invitation instead of creating another."""
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
    keys = table(IDEMPOTENCY_KEYS)
    try:
        keys.create_entity(
            {"PartitionKey": key_hash, "RowKey": "", "RequestHash": request_hash, "InvitationId": new_id}
        )
        return new_id, False
    except ResourceExistsError:
        claimed = keys.get_entity(key_hash, "")
    if claimed["RequestHash"] != request_hash:
        raise IdempotencyMismatch("This Idempotency-Key was already used with a different request body.")
    try:
        store.load(claimed["InvitationId"])
    except NotFound:
        return claimed["InvitationId"], False
    return claimed["InvitationId"], True


_OPEN = (PENDING, ACCEPTED, EXPIRED)  # neither completed nor revoked


def _illegal(action: str, invitation_id: str, status: InvitationStatus) -> Conflict:
    return Conflict(
        f"Cannot {action.split('-')[0]} invitation {invitation_id}: it is {status.value}.",
        code=f"invitation-{status.value}",
    )


def _deliver(
    invitation_id: str, actor: str, action: str, current: tuple[Invitation, str] | None = None
) -> Invitation:
    """Send (or re-send) the e-mail, then record the outcome; a failure is stored, never lost.

    The send happens once, outside the guarded write, so losing a race on the record only
    retries the record: every e-mail that went out is counted. An expired invitation gets
    a fresh expiry, so the link in the new e-mail works. `current`: (invitation, ETag) when
    the caller already has them, as the create path does.
    """
    current = current or store.load(invitation_id)
    invitation = current[0]
    now = utcnow()
    status = invitation.effective_status(now)
    if status not in _OPEN:
        raise _illegal(action, invitation_id, status)
    expires_at = now + timedelta(days=invitation.ttl_days) if status == EXPIRED else invitation.expires_at
    message = render_invitation_email(
        to_address=invitation.invitee.email,
        to_name=invitation.invitee.display_name,
        inviter_name=invitation.inviter.name,
        inviter_organisation=invitation.inviter.organisation,
        redeem_url=invitation.invite_redeem_url,
        language=invitation.language,
        custom_message=invitation.message,
        expires_at=expires_at,
        admin_consent_help_url=admin_consent_help_url(invitation.id),
        customer_success_email=get_settings().customer_success_email,
    )
    result = _sender().send(message)
    log.info("Invitation %s e-mail %s; redeem link: %s", invitation.id, result.status, invitation.invite_redeem_url)

    def record(current: Invitation, at: datetime) -> Invitation:
        delivery = EmailDelivery(
            status=result.status,
            message_id=result.message_id,
            error=result.error,
            attempts=current.email.attempts + 1 if current.email else 1,
            last_attempt_at=at,
        )
        return current.model_copy(update={"expires_at": max(expires_at, current.expires_at), "email": delivery})

    return _transition(invitation_id, actor, action, allowed=_OPEN, change=record, detail=result.error, current=current)


def _transition(
    invitation_id: str,
    actor: str,
    action: str,
    *,
    allowed: tuple[InvitationStatus, ...],
    change: Callable[[Invitation, datetime], Invitation],
    detail: str | None = None,
    current: tuple[Invitation, str] | None = None,
) -> Invitation:
    """Apply `change` if the effective status is in `allowed`, guarded by the ETag;
    a lost race re-reads and re-checks, so a transition that became illegal is refused.
    `current`: (invitation, ETag) the caller already read, tried first without a read."""
    for _ in range(_RACE_RETRIES):
        invitation, etag = current or store.load(invitation_id)
        current = None
        now = utcnow()
        before = invitation.effective_status(now)
        if before not in allowed:
            raise _illegal(action, invitation_id, before)
        changed = change(invitation, now)
        event = AuditEvent(
            at=now, action=action, actor=actor, from_status=before, to_status=changed.effective_status(now), detail=detail
        )
        try:
            store.replace(changed, etag, event)
            return changed
        except store.ConcurrentUpdate:
            continue
    raise store.ConcurrentUpdate(invitation_id)


def resend(invitation_id: str, actor: str) -> InvitationView:
    return view(_deliver(invitation_id, actor, action="email-resent"))


def revoke(invitation_id: str, actor: str) -> InvitationView:
    def change(invitation: Invitation, now: datetime) -> Invitation:
        return invitation.model_copy(update={"status": REVOKED, "revoked_at": now})

    return view(_transition(invitation_id, actor, "revoked", allowed=_OPEN, change=change))


def reset(invitation_id: str, actor: str) -> InvitationView:
    """Like Graph's resetRedemption: an accepted, not completed invitation can be redeemed again."""

    def change(invitation: Invitation, now: datetime) -> Invitation:
        return invitation.model_copy(update={"status": PENDING, "accepted_by": None, "accepted_at": None})

    return view(_transition(invitation_id, actor, "redemption-reset", allowed=(ACCEPTED,), change=change))


def _accepted_by(invitation: Invitation, user: SignedInUser) -> bool:
    accepted_by = invitation.accepted_by
    return invitation.status == ACCEPTED and accepted_by is not None and accepted_by.object_id == user.object_id


def accept(invitation_id: str, user: SignedInUser) -> Invitation:
    """Mark the invitation redeemed by `user`; the same user signing in again is a no-op."""
    current = store.load(invitation_id)
    if _accepted_by(current[0], user):
        return current[0]

    def change(invitation: Invitation, now: datetime) -> Invitation:
        return invitation.model_copy(update={"status": ACCEPTED, "accepted_by": user, "accepted_at": now})

    try:
        return _transition(invitation_id, user.email, "accepted", allowed=(PENDING,), change=change, current=current)
    except Conflict:
        # Lost a race against our own other tab/callback: that is success, not a conflict.
        winner = get(invitation_id)
        if _accepted_by(winner, user):
            return winner
        raise


def complete(invitation_id: str, company_id: str, user: SignedInUser) -> Invitation:
    def change(invitation: Invitation, now: datetime) -> Invitation:
        return invitation.model_copy(update={"status": COMPLETED, "completed_at": now, "company_id": company_id})

    return _transition(invitation_id, user.email, "completed", allowed=(ACCEPTED,), change=change)


def redemption_block(invitation: Invitation) -> str | None:
    """Why the link can no longer start a sign-in (a page kind), or None if it can."""
    status = invitation.effective_status(utcnow())
    blocked = {REVOKED: "invitation-revoked", EXPIRED: "invitation-expired", COMPLETED: "invitation-completed"}
    return blocked.get(status)


def page(query: ListQuery) -> InvitationPage:
    now = utcnow()
    items, token = store.query(
        query.status, query.email, now, query.page_size, query.continuation_token
    )
    # The list leaves out each invitation's history: one query per item would make it slow.
    return InvitationPage(value=[view(item, now, with_history=False) for item in items], continuation_token=token)

