"""The invitation lifecycle: issue, list, the guarded status transitions, and the e-mail's record.

Every transition starts from an invitation read with its ETag and is one guarded write with
its audit event; a lost race re-reads and re-checks, so two conflicting transitions never
both succeed, and a request that lost to its own twin (double submit, second tab) succeeds.
"""

import contextvars
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from shared.adapters.tables.invitations import InvitationStore, Loaded, Read, audit_key
from shared.domain import invitations as rules
from shared.domain.errors import (
    AlreadyExists,
    ConcurrentUpdate,
    Conflict,
    DomainError,
    DuplicateInvitation,
    IdempotencyMismatch,
    NotFound,
)
from shared.domain.events import has_event
from shared.domain.invitations import ACCEPTED, COMPLETED, EXPIRED, OPEN, PENDING, REVOKED
from shared.domain.models import (
    AuditEvent,
    CompanyCreationStatus,
    Completion,
    EmailDelivery,
    EmailIntent,
    EmailStatus,
    Invitation,
    InvitationPage,
    InvitationRequest,
    InvitationStatus,
    InvitationView,
    ListQuery,
    PendingEvent,
    SignedInUser,
)
from shared.queue_names import INVITATION_EMAIL
from shared.services.events import EventPublisher
from shared.services.ports import Clock, EmailIndex, IdempotencyClaim, IdempotencyKeys, InvitationLinks, QueueSender

log = logging.getLogger(__name__)
_RACE_RETRIES = 3
# A list by e-mail reads its page's invitations this many at a time; a create's e-mail is handed to
# the queue on the same threads.
_PARALLEL = 8
# A claim on an address whose invitation is not written yet is a create in flight for this long
# (a create that crashed between the claim and its write frees the address after it).
_IN_FLIGHT = timedelta(seconds=60)
# A handed-over enqueue waits this long first, so the answer it was taken off leaves before it: the
# queue SDK's ~2 ms of Python would otherwise hold the interpreter while the host writes the answer.
# Nothing to the e-mail, which the worker's queue poll picks up tens of milliseconds later anyway.
_HANDOVER_HEAD_START = 0.003
Change = Callable[[Invitation, datetime], Invitation]


class InvitationService:
    def __init__(
        self,
        store: InvitationStore,
        idempotency_keys: IdempotencyKeys,
        email_index: EmailIndex,
        queues: QueueSender,
        links: InvitationLinks,
        clock: Clock,
        *,
        redirect_allowlist: list[str],
        events: EventPublisher,
    ) -> None:
        self.store, self._keys, self._queues, self.links, self.clock = store, idempotency_keys, queues, links, clock
        self.events = events
        self.email_index = email_index
        self._pool = ThreadPoolExecutor(_PARALLEL, thread_name_prefix="invitations")
        self._handovers: set[Future[None]] = set()
        self._allowlist = redirect_allowlist

    # -- reading ------------------------------------------------------------------------------------

    def load(self, invitation_id: str) -> Loaded:
        """The invitation and the Version (its ETag, its trail) a transition from it must carry."""
        return self.store.load(invitation_id)

    def get(self, invitation_id: str) -> Invitation:
        return self.store.load(invitation_id)[0]

    def read(self, invitation_id: str) -> InvitationView:
        """One invitation with its audit trail, as the API shows it (one point read)."""
        invitation, _, history = self.store.read(invitation_id)
        return self.view(invitation, history)

    def view(self, invitation: Invitation, history: list[AuditEvent], now: datetime | None = None) -> InvitationView:
        """The API representation: effective status and the audit trail the caller already has."""
        current = invitation.model_copy(update={"status": invitation.effective_status(now or self.clock())})
        return InvitationView(**dict(current), history=history)

    def page(self, query: ListQuery) -> InvitationPage:
        now = self.clock()
        if query.email:
            items, token = self._by_email(query, now)
        else:
            items, token = self.store.query(query.status, now, query.page_size, query.continuation_token)
        # The list leaves out each invitation's history: one query per item would make it slow.
        return InvitationPage(value=[self.view(item, [], now) for item in items], continuation_token=token)

    def _by_email(self, query: ListQuery, now: datetime) -> tuple[list[Invitation], str | None]:
        """One partition of the e-mail index, then the invitation rows it names (the truth: read in
        parallel, filtered by effective status; a row whose invitation was never written is skipped)."""
        assert query.email is not None
        ids, token = self.email_index.page(query.email, query.page_size, query.continuation_token)

        def load(invitation_id: str) -> Invitation | None:
            try:
                return self.store.load(invitation_id)[0]
            except NotFound:
                return None

        found = [item for item in self._pool.map(load, ids) if item is not None]
        return [item for item in found if query.status is None or item.effective_status(now) == query.status], token

    def redemption_block(self, invitation: Invitation) -> str | None:
        return rules.redemption_block(invitation, self.clock())

    # -- issuing ------------------------------------------------------------------------------------

    def check(self, request: InvitationRequest) -> None:
        """The rules a request must meet beyond its model (InvalidInput otherwise): the redirect allow-list."""
        rules.check_redirect_allowed(request.redirect_url, self._allowlist)

    def create(
        self, request: InvitationRequest, *, actor: str, idempotency_key: str | None, invitation_id: str | None = None
    ) -> tuple[InvitationView, bool]:
        """Issue an invitation and queue its e-mail (the worker sends it); (view, created). A replayed key returns the first result.
        `invitation_id`: an id the caller derived (a batch row's), so a repeat finds the first one."""
        self.check(request)
        chosen_id = invitation_id
        invitation_id = chosen_id or str(uuid.uuid4())
        if idempotency_key:
            invitation_id, replay = self._claim_idempotency_key(idempotency_key, request, invitation_id)
            if replay is not None:
                return replay, False
        now = self.clock()
        # First (an invitation is always listed under its e-mail), one write either way: the address's
        # claim, which lists its holder, or with allowDuplicate a plain index row (email_index.py).
        if request.allow_duplicate:
            self.email_index.add(request.invitee.email, invitation_id)
        else:
            self._claim_address(request.invitee.email, invitation_id, now)
        email = _queued_email(attempt=1, now=now)
        created = AuditEvent(at=now, action="created", actor=actor, to_status=PENDING, send_id=email.send_id)
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
            email=email,
            creation=created,
            # Published by the e-mail worker's write (or the sweeper), not here: off the request path.
            pending_events=[PendingEvent(key=audit_key(created), event=created)],
        )
        try:
            self.store.insert(invitation)
        except AlreadyExists:
            if not (idempotency_key or chosen_id):
                raise
            # A concurrent request with the same key (or a repeat with the same chosen id) wrote it first:
            # that one queued the e-mail (or the sweeper will), this is a replay.
            return self.read(invitation_id), False
        self.hand_over_email(invitation)
        return self.view(invitation, [created]), True

    def _claim_address(self, email: str, invitation_id: str, now: datetime) -> None:
        """Make `invitation_id` the address's open invitation, or raise DuplicateInvitation naming the
        open one. The claim is one conditional write, so of two concurrent creates for an address at
        most one passes; the invitation row decides whether the holder is still open."""
        for _ in range(_RACE_RETRIES):
            held = self.email_index.claim(email, invitation_id, now)
            if held is None:
                return
            holder, claimed_at, _ = held
            if holder == invitation_id:
                return  # a retry (same Idempotency-Key) of a create that claimed, then failed
            try:
                open_now = self.get(holder).effective_status(now) in (PENDING, ACCEPTED)
            except NotFound:
                open_now = now - claimed_at < _IN_FLIGHT  # its create may still be writing it
            if open_now:
                raise DuplicateInvitation(
                    f"{email} already has an open invitation ({holder}); send allowDuplicate: true to invite again.", holder
                )
            try:
                self.email_index.take_over(email, invitation_id, now, held)
                return
            except ConcurrentUpdate:
                continue  # another create took it over first: look at its invitation
        raise ConcurrentUpdate("Invitations for this address are being created concurrently; try again.")

    def _claim_idempotency_key(self, key: str, request: InvitationRequest, new_id: str) -> tuple[str, InvitationView | None]:
        """(invitation id, the invitation if this is a replay). The key is claimed before the invitation
        is written, so a retry after a crash in between finishes the same invitation instead of another."""
        request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
        claim, ours = self._keys.claim(key, IdempotencyClaim(request_hash=request_hash, invitation_id=new_id))
        if ours:
            return new_id, None
        if claim.request_hash != request_hash:
            raise IdempotencyMismatch("This Idempotency-Key was already used with a different request body.")
        try:
            return claim.invitation_id, self.read(claim.invitation_id)
        except NotFound:
            return claim.invitation_id, None

    # -- transitions --------------------------------------------------------------------------------

    def _transition(self, current: Loaded, actor: str, action: str, **step: Any) -> Invitation:
        return self._step(current, None, actor, action, **step)[0]

    def _viewed(self, current: Read, actor: str, action: str, **step: Any) -> InvitationView:
        """A staff transition answered with the invitation and its audit trail, known without a re-read."""
        changed, history = self._step(current[:2], current[2], actor, action, **step)
        return self.view(changed, history or [])

    def _step(
        self,
        current: Loaded,
        history: list[AuditEvent] | None,
        actor: str,
        action: str,
        *,
        allowed: tuple[InvitationStatus, ...],
        change: Change,
        detail: str | None = None,
        done: Callable[[Invitation], bool] | None = None,
        account: SignedInUser | None = None,
        company_id: str | None = None,
        send_id: str | None = None,
        settle_events: bool = False,
    ) -> tuple[Invitation, list[AuditEvent] | None]:
        """Apply `change` to the invitation read with its ETag if its effective status is in `allowed`;
        a lost race re-reads and re-checks, so a transition that became illegal is refused.
        `done`, for a transition whose repeat is success: whether it has already happened.

        A lifecycle step's event joins the invitation's pending events in the same write and is
        published right after it. `settle_events` (workers): publish the pending events first, and
        let the write drop them, so they stop being outstanding. With the `history` read with it,
        also the audit trail after the step (a re-read after a lost race then re-reads it too)."""
        invitation, version = current
        for attempt in range(_RACE_RETRIES):
            if attempt and history is None:
                invitation, version = self.store.load(invitation.id)
            elif attempt:
                invitation, version, history = self.store.read(invitation.id)
            if done and done(invitation):
                return invitation, history
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
                send_id=send_id,
            )
            pending = list(changed.pending_events)
            if settle_events and self.events.publish(invitation.id, pending):
                pending = []
            new = [PendingEvent(key=audit_key(event), event=event)] if has_event(action) else []
            changed = changed.model_copy(update={"pending_events": pending + new})
            try:
                self.store.replace(changed, version, event)
            except ConcurrentUpdate:
                continue
            self.events.publish(invitation.id, new)
            return changed, None if history is None else [*history, event]
        raise ConcurrentUpdate(f"Invitation {current[0].id} was changed by another request; try again.")

    def settle_events(self, invitation_id: str) -> None:
        """Publish the invitation's pending events, then record that they are out (the sweeper's
        part for steps no worker follows up); a lost race leaves them for the next sweep."""
        invitation, version = self.store.load(invitation_id)
        if invitation.pending_events and self.events.publish(invitation.id, invitation.pending_events):
            try:
                self.store.replace(invitation.model_copy(update={"pending_events": []}), version, None)
            except ConcurrentUpdate:
                log.info("Invitation %s changed while its events were settled; the next sweep retries", invitation_id)

    # -- the e-mail ------------------------------------------------------------------------------------

    def report_expiry(self, expired: Invitation) -> None:
        """For the sweeper: record that an open invitation's expiry passed (audit `expired`, whose
        lifecycle event goes out like any step's); nothing if it was reported, renewed or closed since."""

        def change(invitation: Invitation, now: datetime) -> Invitation:
            return invitation.model_copy(update={"expiry_reported": invitation.expires_at})

        def done(invitation: Invitation) -> bool:
            return invitation.expiry_unreported() is None

        try:
            self._transition(self.store.load(expired.id), "expiry", "expired", allowed=(EXPIRED,), change=change, done=done)
        except Conflict as error:  # renewed by a resend or revoked meanwhile: nothing expired to report
            log.info("Expiry of invitation %s not reported: %s", expired.id, error.detail)

    def resend(self, invitation_id: str, actor: str) -> InvitationView:
        """Record a new send (the next attempt) and queue it. While the previous send is still queued,
        that one is the answer: pressing resend twice, or twenty times at once, sends one e-mail.
        An expired invitation gets a fresh expiry, so the link in the new e-mail works."""
        email = _queued_email(attempt=0, now=self.clock())  # attempt and times are set in the write

        def change(invitation: Invitation, now: datetime) -> Invitation:
            if invitation.email is not None and invitation.email.status == "queued":
                raise _StillQueued(invitation)
            expired = invitation.effective_status(now) == EXPIRED
            attempt = invitation.email.attempt + 1 if invitation.email else 1
            return invitation.model_copy(
                update={
                    "expires_at": now + timedelta(days=invitation.ttl_days) if expired else invitation.expires_at,
                    "email": email.model_copy(update={"attempt": attempt, "queued_at": now, "updated_at": now}),
                }
            )

        current = self.store.read(invitation_id)
        invitation = current[0]
        # Only an invitation that may be resent: a revoked or completed one is a 409 whether or not
        # its last e-mail has left yet, not an answer that depends on the e-mail worker's timing.
        queued = invitation.email is not None and invitation.email.status == "queued"
        if queued and invitation.effective_status(self.clock()) in OPEN:
            return self.view(invitation, current[2])
        try:
            resent = self._viewed(current, actor, "email-resent", allowed=OPEN, change=change, send_id=email.send_id)
        except _StillQueued:  # queued by a concurrent resend that won the race
            return self.read(invitation_id)
        self.enqueue_email(resent)
        return resent

    def hand_over_email(self, invitation: Invitation) -> None:
        """Queue the recorded send without waiting for the queue's answer, so the create's answer does
        not pay for the enqueue. Nothing is lost if the enqueue fails or the process ends first: the
        invitation records the send as queued (OutstandingSince), and the sweeper enqueues it."""
        handover = self._pool.submit(contextvars.copy_context().run, self._enqueue_after_the_answer, invitation)
        self._handovers.add(handover)
        handover.add_done_callback(self._handed_over)

    def _enqueue_after_the_answer(self, invitation: Invitation) -> None:
        time.sleep(_HANDOVER_HEAD_START)
        self.enqueue_email(invitation)

    def _handed_over(self, handover: Future[None]) -> None:
        self._handovers.discard(handover)
        if (error := handover.exception()) is not None:  # enqueue_email logs the queue's own errors
            log.error("An e-mail was not queued; the sweeper will queue it", exc_info=error)

    def finish_handovers(self, timeout: float | None = None) -> None:
        """Wait until the e-mails handed to the queue are on it (or failed): for a process about to stop, and tests."""
        wait(list(self._handovers), timeout)

    def enqueue_email(self, invitation: Invitation) -> None:
        """Queue the send the invitation records as queued (the invitation-email worker carries it out).
        Only logs when the queue is unreachable: the intent is stored, and the sweeper re-enqueues it."""
        email = invitation.email
        if email is None or email.status != "queued":
            return
        intent = EmailIntent(invitation_id=invitation.id, send_id=email.send_id)
        try:
            self._queues.send(INVITATION_EMAIL, intent.model_dump(mode="json", by_alias=True))
        except DomainError as error:
            log.warning("E-mail %s of invitation %s not queued (%s); the sweeper will", email.send_id, invitation.id, error)

    def record_email(
        self,
        intent: EmailIntent,
        status: EmailStatus,
        *,
        action: str,
        actor: str,
        after: tuple[EmailStatus, ...],
        operation_id: str | None = None,
        error: str | None = None,
        current: Loaded | None = None,
    ) -> Invitation:
        """Move the intent's send to `status` with its audit event, if it is still the invitation's
        send and in one of the states `after`; otherwise (a stale or repeated message or report) a no-op.
        `current`: the invitation as the caller read it (its ETag guards the write; read again if stale)."""

        def change(invitation: Invitation, now: datetime) -> Invitation:
            assert invitation.email is not None  # `done` returned first otherwise
            update = {"status": status, "operation_id": operation_id or invitation.email.operation_id, "error": error}
            return invitation.model_copy(update={"email": invitation.email.model_copy(update={**update, "updated_at": now})})

        def done(invitation: Invitation) -> bool:
            email = invitation.email
            return email is None or email.send_id != intent.send_id or email.status not in after

        # The e-mail's fate is recorded whatever the invitation's status (a report may follow a revoke).
        return self._transition(
            current or self.store.load(intent.invitation_id),
            actor,
            action,
            allowed=tuple(InvitationStatus),
            change=change,
            done=done,
            detail=error,
            send_id=intent.send_id,
            settle_events=True,
        )

    def note_email_error(self, intent: EmailIntent, error: str) -> None:
        """Keep the last error on the queued send (no audit event: the send is still being tried)."""
        invitation, version = self.store.load(intent.invitation_id)
        email = invitation.email
        if email is None or email.send_id != intent.send_id or email.status != "queued":
            return
        noted = email.model_copy(update={"error": error, "updated_at": self.clock()})
        try:
            self.store.replace(invitation.model_copy(update={"email": noted}), version, None)
        except ConcurrentUpdate:
            pass  # someone else wrote the invitation; the next try notes its own error

    def revoke(self, invitation_id: str, actor: str) -> InvitationView:
        def change(invitation: Invitation, now: datetime) -> Invitation:
            return invitation.model_copy(update={"status": REVOKED, "revoked_at": now})

        return self._viewed(self.store.read(invitation_id), actor, "revoked", allowed=OPEN, change=change)

    def reset(self, invitation_id: str, actor: str) -> InvitationView:
        """Like Graph's resetRedemption: an accepted, not completed invitation can be redeemed again."""

        def change(invitation: Invitation, now: datetime) -> Invitation:
            return invitation.model_copy(update={"status": PENDING, "accepted_by": None, "accepted_at": None})

        return self._viewed(self.store.read(invitation_id), actor, "redemption-reset", allowed=(ACCEPTED,), change=change)

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
            return (
                invitation.status == COMPLETED
                and invitation.completion is not None
                and (invitation.completion.account.object_id == user.object_id)
            )

        return self._transition(
            current,
            user.email,
            "completed",
            allowed=(ACCEPTED,),
            change=change,
            done=done,
            account=user,
            company_id=completion.company_id,
        )

    def note_company_error(self, invitation_id: str, company_id: str, error: str) -> None:
        """An attempt's error on the pending completion (no audit event: the outcome gets one)."""
        invitation, version = self.store.load(invitation_id)
        completion = invitation.completion
        if completion is None or completion.company_id != company_id or completion.status != "pending":
            return
        noted = invitation.model_copy(update={"completion": completion.model_copy(update={"error": error})})
        self.store.replace(noted, version, None)

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


class _StillQueued(Exception):
    """Resend met a send that has not left yet: answer with that one instead of queueing another."""

    def __init__(self, invitation: Invitation) -> None:
        super().__init__(invitation.id)


def _queued_email(*, attempt: int, now: datetime) -> EmailDelivery:
    return EmailDelivery(send_id=str(uuid.uuid4()), attempt=attempt, status="queued", queued_at=now, updated_at=now)
