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
from shared.adapters.tables.invitations import InvitationStore, Loaded, audit_row_key
from shared.domain import invitations as rules
from shared.domain.errors import AlreadyExists, ConcurrentUpdate, Conflict, IdempotencyMismatch, NotFound
from shared.domain.events import has_event
from shared.domain.invitations import ACCEPTED, COMPLETED, EXPIRED, OPEN, PENDING, REVOKED
from shared.domain.models import (
    AuditEvent,
    CompanyCreationStatus,
    Completion,
    EmailDelivery,
    Invitation,
    InvitationPage,
    InvitationRequest,
    InvitationStatus,
    InvitationView,
    ListQuery,
    PendingEvent,
    SignedInUser,
)
from shared.presentation.invitation_email import ProductLinks, render_invitation_email
from shared.services import Clock, InvitationLinks
from shared.services.events import EventPublisher

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
        product: ProductLinks,
        events: EventPublisher,
    ) -> None:
        self.store, self._keys, self._sender, self.links, self.clock = store, idempotency_keys, sender, links, clock
        self.events = events
        self._allowlist, self._product = redirect_allowlist, product

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
        created = AuditEvent(at=now, action="created", actor=actor, to_status=PENDING)
        invitation = invitation.model_copy(update={"pending_events": [PendingEvent(key=audit_row_key(created), event=created)]})
        try:
            etag = self.store.insert(invitation, created)
        except AlreadyExists:
            if not idempotency_key:
                raise
            # A concurrent request with the same key wrote it first: that one sends the e-mail, this is a replay.
            return self.view(self.get(invitation_id)), False
        self.events.publish(invitation.id, invitation.pending_events)
        return self.view(self._deliver((invitation, etag), actor, action="email-sent")), True

    def _claim_idempotency_key(self, key: str, request: InvitationRequest, new_id: str) -> tuple[str, Invitation | None]:
        """(invitation id, the invitation if this is a replay). The key is claimed before the invitation
        is written, so a retry after a crash in between finishes the same invitation instead of another."""
        request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
        claim, ours = self._keys.claim(key, Claim(request_hash=request_hash, invitation_id=new_id))
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
            product=self._product,
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
        account: SignedInUser | None = None,
        company_id: str | None = None,
        settle_events: bool = False,
    ) -> Invitation:
        """Apply `change` to the invitation read with its ETag if its effective status is in `allowed`;
        a lost race re-reads and re-checks, so a transition that became illegal is refused.
        `done`, for a transition whose repeat is success: whether it has already happened.

        A lifecycle step's event joins the invitation's pending events in the same write and is
        published right after it. `settle_events` (workers): publish the pending events first, and
        let the write drop them, so they stop being outstanding."""
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
                at=now,
                action=action,
                actor=actor,
                from_status=before,
                to_status=changed.effective_status(now),
                detail=detail,
                account=account,
                company_id=company_id,
            )
            pending = list(changed.pending_events)
            if settle_events and self.events.publish(invitation.id, pending):
                pending = []
            new = [PendingEvent(key=audit_row_key(event), event=event)] if has_event(action) else []
            changed = changed.model_copy(update={"pending_events": pending + new})
            try:
                self.store.replace(changed, etag, event)
            except ConcurrentUpdate:
                continue
            self.events.publish(invitation.id, new)
            return changed
        raise ConcurrentUpdate(f"Invitation {current[0].id} was changed by another request; try again.")

    def settle_events(self, invitation_id: str) -> None:
        """Publish the invitation's pending events, then record that they are out (the sweeper's
        part for steps no worker follows up); a lost race leaves them for the next sweep."""
        invitation, etag = self.store.load(invitation_id)
        if invitation.pending_events and self.events.publish(invitation.id, invitation.pending_events):
            try:
                self.store.replace(invitation.model_copy(update={"pending_events": []}), etag, None)
            except ConcurrentUpdate:
                log.info("Invitation %s changed while its events were settled; the next sweep retries", invitation_id)

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
        return self._transition(current, user.email, "accepted", allowed=(PENDING,), change=change, done=done, account=user)

    def complete(self, current: Loaded, completion: Completion) -> Invitation:
        """accepted → completed by the account that accepted it, recording CREATE COMPANY's intent
        (the company-create worker carries it out); a repeat by the same account (a double submit,
        a second tab) is success, whichever tab's data won."""
        user = completion.account

        def change(invitation: Invitation, now: datetime) -> Invitation:
            if not rules.accepted_by(invitation, user):
                # Reset (and maybe accepted by another account) since this account's page was read.
                raise Conflict(f"Invitation {invitation.id} is not accepted by this account.", code="invitation-not-theirs")
            intent = completion.model_copy(update={"completed_at": now, "updated_at": now})
            return invitation.model_copy(
                update={"status": COMPLETED, "completed_at": now, "company_id": completion.company_id, "completion": intent}
            )

        def done(invitation: Invitation) -> bool:
            return invitation.status == COMPLETED and invitation.completion is not None and (
                invitation.completion.account.object_id == user.object_id
            )

        return self._transition(
            current, user.email, "completed", allowed=(ACCEPTED,), change=change, done=done, account=user,
            company_id=completion.company_id,
        )

    def note_company_error(self, invitation_id: str, company_id: str, error: str) -> None:
        """An attempt's error on the pending completion (no audit row: the outcome gets one)."""
        invitation, etag = self.store.load(invitation_id)
        completion = invitation.completion
        if completion is None or completion.company_id != company_id or completion.status != "pending":
            return
        noted = invitation.model_copy(update={"completion": completion.model_copy(update={"error": error})})
        self.store.replace(noted, etag, None)

    def record_company(self, current: Loaded, status: CompanyCreationStatus, error: str | None) -> Invitation:
        """The company-create worker's outcome on the completion (created, or failed with the error);
        if another delivery of the message recorded one first, that one stands."""

        def change(invitation: Invitation, now: datetime) -> Invitation:
            assert invitation.completion is not None  # `done` returned first otherwise
            outcome = invitation.completion.model_copy(update={"status": status, "error": error, "updated_at": now})
            return invitation.model_copy(update={"completion": outcome})

        def done(invitation: Invitation) -> bool:
            return invitation.completion is None or invitation.completion.status != "pending"

        action = "company-created" if status == "created" else "company-failed"
        return self._transition(
            current, "company-create", action, allowed=(COMPLETED,), change=change, done=done, detail=error, settle_events=True
        )
