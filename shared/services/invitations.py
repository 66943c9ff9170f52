"""The invitation lifecycle: issue, e-mail, list, and the guarded status transitions.

Every transition starts from an invitation read with its ETag and is one guarded write with
its audit event; a lost race re-reads and re-checks, so two conflicting transitions never
both succeed, and a request that lost to its own twin (double submit, second tab) succeeds.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from shared.adapters.mail import EmailSender
from shared.adapters.tables.idempotency_keys import Claim, IdempotencyKeyStore
from shared.adapters.tables.invitations import InvitationStore, Loaded
from shared.domain import invitations as rules
from shared.domain.errors import AlreadyExists, ConcurrentUpdate, IdempotencyMismatch, NotFound
from shared.domain.invitations import ACCEPTED, COMPLETED, EXPIRED, OPEN, PENDING, REVOKED
from shared.domain.models import (
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
from shared.presentation.invitation_email import render_invitation_email
from shared.services import Clock, InvitationLinks

log = logging.getLogger(__name__)
_RACE_RETRIES = 3
Change = Callable[[Invitation, datetime], Invitation]


class InvitationService:
    def __init__(
        self,
        store: InvitationStore,
        idempotency_keys: IdempotencyKeyStore,
        sender: EmailSender,
        links: InvitationLinks,
        clock: Clock,
        *,
        redirect_allowlist: list[str],
        customer_success_email: str,
    ) -> None:
        self.store, self._keys, self._sender, self.links, self.clock = store, idempotency_keys, sender, links, clock
        self._allowlist, self._customer_success_email = redirect_allowlist, customer_success_email

    # -- reading ------------------------------------------------------------------------------------

    def load(self, invitation_id: str) -> Loaded:
        """The invitation and the ETag a transition from it must carry."""
        return self.store.load(invitation_id)

    def get(self, invitation_id: str) -> Invitation:
        return self.store.load(invitation_id)[0]

    def view(self, invitation: Invitation, now: datetime | None = None, *, with_history: bool = True) -> InvitationView:
        """The API representation: effective status and (for single reads) the audit trail."""
        current = invitation.model_copy(update={"status": invitation.effective_status(now or self.clock())})
        return InvitationView(**dict(current), history=self.store.history(invitation.id) if with_history else [])

    def page(self, query: ListQuery) -> InvitationPage:
        now = self.clock()
        items, token = self.store.query(query.status, query.email, now, query.page_size, query.continuation_token)
        # The list leaves out each invitation's history: one query per item would make it slow.
        return InvitationPage(value=[self.view(item, now, with_history=False) for item in items], continuation_token=token)

    def redemption_block(self, invitation: Invitation) -> str | None:
        return rules.redemption_block(invitation, self.clock())

    # -- issuing ------------------------------------------------------------------------------------

    def create(self, request: InvitationRequest, *, actor: str, idempotency_key: str | None) -> tuple[InvitationView, bool]:
        """Issue an invitation and e-mail it; (view, created). A replayed key returns the first result."""
        rules.check_redirect_allowed(request.redirect_url, self._allowlist)
        invitation_id = str(uuid.uuid4())
        if idempotency_key:
            invitation_id, replay = self._claim_idempotency_key(idempotency_key, request, invitation_id)
            if replay is not None:
                return self.view(replay), False
        now = self.clock()
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
            invite_redeem_url=self.links.redeem(invitation_id),
        )
        try:
            etag = self.store.insert(invitation, AuditEvent(at=now, action="created", actor=actor, to_status=PENDING))
        except AlreadyExists:
            if not idempotency_key:
                raise
            # A concurrent request with the same key wrote it first: that one sends the e-mail, this is a replay.
            return self.view(self.get(invitation_id)), False
        return self.view(self._deliver((invitation, etag), actor, action="email-sent")), True

    def _claim_idempotency_key(self, key: str, request: InvitationRequest, new_id: str) -> tuple[str, Invitation | None]:
        """(invitation id, the invitation if this is a replay). The key is claimed before the invitation
        is written, so a retry after a crash in between finishes the same invitation instead of another."""
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
        claim, ours = self._keys.claim(key_hash, Claim(request_hash=request_hash, invitation_id=new_id))
        if ours:
            return new_id, None
        if claim.request_hash != request_hash:
            raise IdempotencyMismatch("This Idempotency-Key was already used with a different request body.")
        try:
            return claim.invitation_id, self.get(claim.invitation_id)
        except NotFound:
            return claim.invitation_id, None

    def _deliver(self, current: Loaded, actor: str, action: str) -> Invitation:
        """Send (or re-send) the e-mail, then record the outcome; a failure is stored, never lost.

        The send happens once, outside the guarded write, so losing a race on the record only
        retries the record: every e-mail that went out is counted. An expired invitation gets
        a fresh expiry, so the link in the new e-mail works.
        """
        invitation = current[0]
        now = self.clock()
        status = invitation.effective_status(now)
        if status not in OPEN:
            raise rules.illegal(action, invitation.id, status)
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
            admin_consent_help_url=self.links.admin_consent_help(invitation.id),
            customer_success_email=self._customer_success_email,
        )
        result = self._sender.send(message)
        log.info("Invitation %s e-mail %s; redeem link: %s", invitation.id, result.status, invitation.invite_redeem_url)

        def record(latest: Invitation, at: datetime) -> Invitation:
            delivery = EmailDelivery(
                status=result.status,
                message_id=result.message_id,
                error=result.error,
                attempts=latest.email.attempts + 1 if latest.email else 1,
                last_attempt_at=at,
            )
            return latest.model_copy(update={"expires_at": max(expires_at, latest.expires_at), "email": delivery})

        return self._transition(current, actor, action, allowed=OPEN, change=record, detail=result.error)

    # -- transitions --------------------------------------------------------------------------------

    def _transition(
        self,
        current: Loaded,
        actor: str,
        action: str,
        *,
        allowed: tuple[InvitationStatus, ...],
        change: Change,
        detail: str | None = None,
        done: Callable[[Invitation], bool] | None = None,
    ) -> Invitation:
        """Apply `change` to the invitation read with its ETag if its effective status is in `allowed`;
        a lost race re-reads and re-checks, so a transition that became illegal is refused.
        `done`, for a transition whose repeat is success: whether it has already happened."""
        for attempt in range(_RACE_RETRIES):
            invitation, etag = current if attempt == 0 else self.store.load(current[0].id)
            if done and done(invitation):
                return invitation
            now = self.clock()
            before = invitation.effective_status(now)
            if before not in allowed:
                raise rules.illegal(action, invitation.id, before)
            changed = change(invitation, now)
            event = AuditEvent(
                at=now, action=action, actor=actor, from_status=before, to_status=changed.effective_status(now), detail=detail
            )
            try:
                self.store.replace(changed, etag, event)
                return changed
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"Invitation {current[0].id} was changed by another request; try again.")

    def resend(self, invitation_id: str, actor: str) -> InvitationView:
        return self.view(self._deliver(self.store.load(invitation_id), actor, action="email-resent"))

    def revoke(self, invitation_id: str, actor: str) -> InvitationView:
        def change(invitation: Invitation, now: datetime) -> Invitation:
            return invitation.model_copy(update={"status": REVOKED, "revoked_at": now})

        return self.view(self._transition(self.store.load(invitation_id), actor, "revoked", allowed=OPEN, change=change))

    def reset(self, invitation_id: str, actor: str) -> InvitationView:
        """Like Graph's resetRedemption: an accepted, not completed invitation can be redeemed again."""

        def change(invitation: Invitation, now: datetime) -> Invitation:
            return invitation.model_copy(update={"status": PENDING, "accepted_by": None, "accepted_at": None})

        loaded = self.store.load(invitation_id)
        return self.view(self._transition(loaded, actor, "redemption-reset", allowed=(ACCEPTED,), change=change))

    def accept(self, current: Loaded, user: SignedInUser) -> Invitation:
        """pending → accepted by `user`; the same user signing in again (another tab, a second
        callback) is success. Conflict when someone else redeemed it or it closed."""

        def change(invitation: Invitation, now: datetime) -> Invitation:
            return invitation.model_copy(update={"status": ACCEPTED, "accepted_by": user, "accepted_at": now})

        done = partial(rules.accepted_by, user=user)
        return self._transition(current, user.email, "accepted", allowed=(PENDING,), change=change, done=done)

    def complete(self, current: Loaded, company_id: str, user: SignedInUser) -> Invitation:
        """accepted → completed with `company_id`; a repeat of the same completion (a double submit) is success."""

        def change(invitation: Invitation, now: datetime) -> Invitation:
            return invitation.model_copy(update={"status": COMPLETED, "completed_at": now, "company_id": company_id})

        def done(invitation: Invitation) -> bool:
            return invitation.status == COMPLETED and invitation.company_id == company_id

        return self._transition(current, user.email, "completed", allowed=(ACCEPTED,), change=change, done=done)
