"""The invitation lifecycle: issue, list, the guarded status transitions, and the e-mail's record.

Every transition loads the invitation with its version, calls the step (a method of Invitation,
which enforces the rules) and writes the change with one guarded replace; a lost race re-reads and
calls the step again, so two conflicting transitions never both succeed, and a request that lost
to its own twin (double submit, second tab) succeeds.
"""

import contextvars
import hashlib
import logging
import math
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

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
from shared.domain.events import pending_for
from shared.domain.models import (
    ACCEPTED,
    INVITER_NOTICES,
    PENDING,
    AuditEvent,
    Change,
    CompanyCreationStatus,
    Completion,
    DeliveryReport,
    EmailDelivery,
    EmailIntent,
    EmailStatus,
    Invitation,
    InvitationPage,
    InvitationRequest,
    InvitationView,
    ListQuery,
    SignedInUser,
)
from shared.queue_names import INVITATION_EMAIL
from shared.services.events import EventPublisher
from shared.services.ports import (
    Clock,
    EmailIndex,
    IdempotencyClaim,
    IdempotencyKeys,
    InvitationLinks,
    InvitationRepository,
    QueueSender,
    Versioned,
)

log = logging.getLogger(__name__)
_RACE_RETRIES = 3
# A list by e-mail reads its page's invitations this many at a time; a create's e-mail is handed to
# the queue on the same threads.
_PARALLEL = 8
# A claim on an address whose invitation is not written yet is a create in flight for this long
# (a create that crashed between the claim and its write frees the address after it).
_IN_FLIGHT = timedelta(seconds=60)
# A step: one of Invitation's methods, applied to the invitation as read at the time it is taken.
Step = Callable[[Invitation, datetime], Change | None]
# Told of every step written (the invitation before and after, the audit event): the funnel's rollup.
StepObserver = Callable[[Invitation | None, Invitation, AuditEvent], None]


class Applied(NamedTuple):
    """The invitation after a step was applied, and whether applying it changed the invitation."""

    current: Versioned
    changed: bool


class InvitationService:
    def __init__(
        self,
        store: InvitationRepository,
        idempotency_keys: IdempotencyKeys,
        email_index: EmailIndex,
        queues: QueueSender,
        links: InvitationLinks,
        clock: Clock,
        *,
        redirect_allowlist: list[str],
        events: EventPublisher,
        inviter_notifications: bool = False,
        on_step: StepObserver | None = None,
    ) -> None:
        self.store, self._keys, self._queues, self.links, self.clock = store, idempotency_keys, queues, links, clock
        self.events = events
        self.email_index = email_index
        self._pool = ThreadPoolExecutor(_PARALLEL, thread_name_prefix="invitations")
        self._handovers: set[Future[None]] = set()
        self._allowlist = redirect_allowlist
        self._notify_inviters = inviter_notifications  # INVITER_NOTIFICATIONS
        self._on_step = on_step

    # -- reading ------------------------------------------------------------------------------------

    def load(self, invitation_id: str) -> Versioned:
        """The invitation with the version a transition from it must carry."""
        return self.store.load(invitation_id)

    def get(self, invitation_id: str) -> Invitation:
        return self.store.load(invitation_id).invitation

    def read(self, invitation_id: str) -> InvitationView:
        """One invitation with its audit trail, as the API shows it (one point read)."""
        return self._view(self.store.read(invitation_id))

    def view(self, invitation: Invitation, history: list[AuditEvent], now: datetime | None = None) -> InvitationView:
        """The API representation: effective status and the audit trail the caller already has."""
        current = invitation.model_copy(update={"status": invitation.effective_status(now or self.clock())})
        return InvitationView(**dict(current), history=history)

    def _view(self, current: Versioned) -> InvitationView:
        return self.view(current.invitation, current.history or [])

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
                return self.get(invitation_id)
            except NotFound:
                return None

        found = [item for item in self._pool.map(load, ids) if item is not None]
        return [item for item in found if query.status is None or item.effective_status(now) == query.status], token

    def redemption_block(self, invitation: Invitation) -> str | None:
        return rules.redemption_block(invitation, self.clock())

    def resume_step(self, invitation: Invitation, signed_in: SignedInUser | None) -> rules.ResumeStep:
        return rules.resume_step(invitation, signed_in, self.clock())

    def answer_redeemable(self, *, state_matches: bool, started_at: datetime) -> bool:
        return rules.answer_redeemable(state_matches=state_matches, started_at=started_at, now=self.clock())

    # -- issuing ------------------------------------------------------------------------------------

    def check(self, request: InvitationRequest) -> None:
        """The rules a request must meet beyond its model (InvalidInput otherwise): the redirect allow-list."""
        rules.check_redirect_allowed(request.redirect_url, self._allowlist)

    def create(
        self,
        request: InvitationRequest,
        *,
        actor: str,
        idempotency_key: str | None,
        invitation_id: str | None = None,
        send_at: datetime | None = None,
    ) -> tuple[InvitationView, bool]:
        """Issue an invitation and queue its e-mail (the worker sends it); (view, created). A replayed key returns the first result.
        `invitation_id`: an id the caller derived (a batch row's), so a repeat finds the first one.
        `send_at`: the e-mail's place in the sending quota (a batch row's), when the caller took one."""
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
        issued = Invitation.issue(
            request, invitation_id=invitation_id, actor=actor, redeem_url=self.links.redeem(invitation_id), now=now, send_at=send_at
        )
        # Its `created` event is published by the e-mail worker's write (or the sweeper), not here: off the request path.
        invitation = issued.invitation.model_copy(update={"pending_events": pending_for(issued.event)})
        try:
            inserted = self.store.insert(invitation)
        except AlreadyExists:
            if not (idempotency_key or chosen_id):
                raise
            # A concurrent request with the same key (or a repeat with the same chosen id) wrote it first:
            # that one queued the e-mail (or the sweeper will), this is a replay.
            return self.read(invitation_id), False
        self.hand_over_email(invitation)
        self._observe(None, invitation, issued.event)
        return self._view(inserted), True

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

    def _apply(self, current: Versioned, step: Step, *, settle_events: bool = False) -> Applied:
        """Take `step` from the invitation as `current` holds it and write its change with one guarded
        replace; a lost race re-reads (with the trail if `current` has it) and takes the step again, so a
        step that became illegal is refused. A step that has already happened changes nothing.

        A step's lifecycle event joins the invitation's pending events in the same write and is
        published right after it. `settle_events` (workers): publish the pending events first, and
        let the write drop them, so they stop being outstanding."""
        invitation_id = current.invitation.id
        for attempt in range(_RACE_RETRIES):
            if attempt:
                current = self.store.load(invitation_id) if current.history is None else self.store.read(invitation_id)
            now = self.clock()
            change = step(current.invitation, now)
            if change is None:
                return Applied(current, changed=False)
            change = self._with_inviter_notice(change, now)
            pending = list(change.invitation.pending_events)
            if settle_events and self.events.publish(invitation_id, pending):
                pending = []
            new = pending_for(change.event)
            changed = change.invitation.model_copy(update={"pending_events": pending + new})
            try:
                written = self.store.replace(current, changed, change.event)
            except ConcurrentUpdate:
                continue
            self.events.publish(invitation_id, new)
            if len(changed.inviter_notices) > len(current.invitation.inviter_notices):
                self.enqueue_notices(changed)
            self._observe(current.invitation, changed, change.event)
            return Applied(written, changed=True)
        raise ConcurrentUpdate(f"Invitation {invitation_id} was changed by another request; try again.")

    def _with_inviter_notice(self, change: Change, now: datetime) -> Change:
        """With INVITER_NOTIFICATIONS, a step that completes the invitation, bounces its e-mail or
        reports its expiry queues a notice to its inviter in the same write: told once per kind."""
        kind = INVITER_NOTICES.get(change.event.action) if self._notify_inviters and change.event else None
        noticed = change.invitation.notify_inviter(kind, now) if kind else None
        return Change(noticed, change.event) if noticed else change

    def enqueue_notices(self, invitation: Invitation) -> None:
        """Queue the invitation's queued notices to its inviter (the e-mail worker sends them by send id);
        only logs when the queue is unreachable: the sweeper queues them again."""
        for notice in invitation.inviter_notices:
            if notice.status == "queued":
                intent = EmailIntent(invitation_id=invitation.id, send_id=notice.send_id)
                try:
                    self._queues.send(INVITATION_EMAIL, intent.model_dump(mode="json", by_alias=True))
                except DomainError as error:
                    log.warning(
                        "Inviter notice %s of invitation %s not queued (%s); the sweeper will", notice.send_id, invitation.id, error
                    )

    def record_notice(self, intent: EmailIntent, status: Literal["sent", "failed"], error: str | None = None) -> None:
        """The e-mail worker's outcome of a notice to the inviter (Invitation.record_notice)."""
        self._apply(
            self.store.load(intent.invitation_id),
            lambda invitation, now: invitation.record_notice(intent.send_id, status, now, error),
            settle_events=True,
        )

    def take_step(self, current: Versioned, step: Step) -> Applied:
        """A step another service takes on the invitation (its own method of Invitation), written like every transition."""
        return self._apply(current, step)

    def settle_events(self, invitation_id: str) -> None:
        """Publish the invitation's pending events, then record that they are out (the sweeper's
        part for steps no worker follows up); a lost race leaves them for the next sweep."""
        current = self.store.load(invitation_id)
        invitation = current.invitation
        if invitation.pending_events and self.events.publish(invitation.id, invitation.pending_events):
            try:
                self.store.replace(current, invitation.model_copy(update={"pending_events": []}), None)
            except ConcurrentUpdate:
                log.info("Invitation %s changed while its events were settled; the next sweep retries", invitation_id)

    def _observe(self, before: Invitation | None, after: Invitation, event: AuditEvent | None) -> None:
        """Tell the observer of a written step on a hand-over thread, off the request's path."""
        if self._on_step is None or event is None:
            return
        observed = self._pool.submit(contextvars.copy_context().run, self._on_step, before, after, event)
        self._handovers.add(observed)
        observed.add_done_callback(self._handed_over)

    def open_link(self, current: Versioned) -> Invitation:
        """Record the first open of the e-mail's link (Invitation.open_link): one guarded write the
        first time, nothing on later opens."""
        return self._apply(current, lambda invitation, now: invitation.open_link(now)).current.invitation

    def accept(self, current: Versioned, user: SignedInUser) -> Invitation:
        """pending → accepted by `user` (Invitation.accept); the same user signing in again is success."""
        return self._apply(current, lambda invitation, now: invitation.accept(user, now)).current.invitation

    def complete(self, current: Versioned, completion: Completion) -> Invitation:
        """accepted → completed by the account that accepted it, recording CREATE COMPANY's intent (the
        company-create worker carries it out); a repeat by the same account is success."""
        return self._apply(current, lambda invitation, now: invitation.complete(completion, now)).current.invitation

    def revoke(self, invitation_id: str, actor: str) -> InvitationView:
        """An open invitation → revoked; answered with it and its audit trail, known without a re-read."""
        return self._view(self._apply(self.store.read(invitation_id), lambda invitation, now: invitation.revoke(actor, now)).current)

    def reset(self, invitation_id: str, actor: str) -> InvitationView:
        """Like Graph's resetRedemption: an accepted, not completed invitation can be redeemed again."""
        return self._view(self._apply(self.store.read(invitation_id), lambda invitation, now: invitation.reset(actor, now)).current)

    def record_company(self, current: Versioned, status: CompanyCreationStatus, error: str | None) -> Invitation:
        """The company-create worker's outcome on the completion; if another delivery of the message
        recorded one first, that one stands."""
        return self._apply(
            current, lambda invitation, now: invitation.record_company(status, error, now), settle_events=True
        ).current.invitation

    def note_company_error(self, invitation_id: str, company_id: str, error: str) -> None:
        """An attempt's error on the pending completion (no audit event: the outcome gets one)."""
        current = self.store.load(invitation_id)
        noted = current.invitation.note_company_error(company_id, error)
        if noted is not None:
            self.store.replace(current, noted.invitation, None)

    def report_expiry(self, expired: Invitation) -> None:
        """For the sweeper: record that an open invitation's expiry passed (audit `expired`, whose
        lifecycle event goes out like any step's); nothing if it was reported, renewed or closed since."""
        try:
            self._apply(self.store.load(expired.id), lambda invitation, now: invitation.report_expiry(now))
        except Conflict as error:  # renewed by a resend or revoked meanwhile: nothing expired to report
            log.info("Expiry of invitation %s not reported: %s", expired.id, error.detail)

    def remind(self, due: Invitation, days_before: int) -> None:
        """For the sweeper: queue the invitation's one reminder (Invitation.remind) and send it. The
        guarded write decides: a second sweep racing this one, or the next one after a crash, finds the
        reminder recorded and writes nothing; a reminder recorded but not queued is re-driven like any send."""
        if due.remind(self.clock(), days_before) is None:  # as scanned: not due yet (no read)
            return
        reminded = self._apply(self.store.load(due.id), lambda invitation, now: invitation.remind(now, days_before))
        if reminded.changed:
            self.enqueue_email(reminded.current.invitation)

    # -- the e-mail ------------------------------------------------------------------------------------

    def resend(self, invitation_id: str, actor: str) -> InvitationView:
        """Record a new send (the next attempt) and queue it. While the previous send is still queued,
        that one is the answer: pressing resend twice, or twenty times at once, sends one e-mail."""
        resent = self._apply(self.store.read(invitation_id), lambda invitation, now: invitation.resend(actor, now))
        if resent.changed:
            self.enqueue_email(resent.current.invitation)
        return self._view(resent.current)

    def hand_over_email(self, invitation: Invitation) -> None:
        """Queue the recorded send on another thread, so the create's answer does not wait for the
        enqueue. Nothing is lost if the enqueue fails or the process ends first: the invitation
        records the send as queued (OutstandingSince), and the sweeper enqueues it."""
        handover = self._pool.submit(contextvars.copy_context().run, self._hand_over, invitation)
        self._handovers.add(handover)
        handover.add_done_callback(self._handed_over)

    def _hand_over(self, invitation: Invitation) -> None:
        self.enqueue_email(invitation)
        if invitation.pending_events and self._not_due(invitation):
            # Its e-mail waits for its place in the sending quota (a batch row's), so the worker's write
            # that would publish the `created` event is far off: publish it now (the sweeper if this fails).
            try:
                self.settle_events(invitation.id)
            except DomainError as error:
                log.info("Events of invitation %s not published (%s); the sweeper will", invitation.id, error)

    def _not_due(self, invitation: Invitation) -> bool:
        """Whether the queued send is put off until later (its message waits, invisible, on the queue)."""
        email = invitation.email
        return email is not None and email.next_attempt_at is not None and email.next_attempt_at > self.clock()

    def redrive_email(self, invitation: Invitation) -> None:
        """The sweeper's part: queue the recorded send again, unless it is put off until later (its
        message is on the queue, invisible until then; if it was lost, the send is outstanding again
        once due, and a later sweep queues it)."""
        if not self._not_due(invitation):
            self.enqueue_email(invitation)

    def _handed_over(self, handover: Future[None]) -> None:
        self._handovers.discard(handover)
        if (error := handover.exception()) is not None:  # enqueue_email logs the queue's own errors
            log.error("A hand-over failed (an e-mail not queued is queued by the sweeper)", exc_info=error)

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
            self._queues.send(INVITATION_EMAIL, intent.model_dump(mode="json", by_alias=True), visibility_timeout=self._delay(email))
        except DomainError as error:
            log.warning("E-mail %s of invitation %s not queued (%s); the sweeper will", email.send_id, invitation.id, error)

    def _delay(self, email: EmailDelivery) -> int | None:
        """Whole seconds until the send is due (a queue's visibility timeout), rounded up so it is never early."""
        if email.next_attempt_at is None:
            return None
        seconds = math.ceil((email.next_attempt_at - self.clock()).total_seconds())
        return seconds if seconds > 0 else None

    def defer_email(self, intent: EmailIntent, until: datetime, *, error: str | None = None, current: Versioned | None = None) -> None:
        """Put the queued send off until `until` (Invitation.defer_email) and queue it for then: the
        message that found no room is done with, so waiting is never counted as a failed try."""
        deferred = self._apply(
            current or self.store.load(intent.invitation_id),
            lambda invitation, now: invitation.defer_email(intent.send_id, until, now, error),
            settle_events=True,  # the write that sends is later: this one publishes the pending events
        )
        if deferred.changed:
            self.enqueue_email(deferred.current.invitation)

    def settle_email(self, invitation_id: str, report: DeliveryReport, *, actor: str) -> Invitation:
        """Record ACS's delivery report (Invitation.settle_email: a later report of another state
        replaces an earlier one; a duplicate or older one is a no-op)."""
        return self._apply(
            self.store.load(invitation_id),
            lambda invitation, now: invitation.settle_email(report, actor=actor, now=now),
            settle_events=True,
        ).current.invitation

    def record_email(
        self,
        intent: EmailIntent,
        status: EmailStatus,
        *,
        actor: str,
        after: tuple[EmailStatus, ...],
        operation_id: str | None = None,
        error: str | None = None,
        current: Versioned | None = None,
    ) -> Invitation:
        """Move the intent's send to `status` (Invitation.record_email: a stale or repeated message or
        report is a no-op). `current`: the invitation as the caller read it (its version guards the
        write; read again if stale)."""

        def step(invitation: Invitation, now: datetime) -> Change | None:
            return invitation.record_email(
                intent.send_id, status, after=after, actor=actor, now=now, operation_id=operation_id, error=error
            )

        return self._apply(current or self.store.load(intent.invitation_id), step, settle_events=True).current.invitation

    def note_email_error(self, intent: EmailIntent, error: str) -> None:
        """Keep the last error on the queued send (no audit event: the send is still being tried)."""
        current = self.store.load(intent.invitation_id)
        noted = current.invitation.note_email_error(intent.send_id, error, self.clock())
        if noted is None:
            return
        try:
            self.store.replace(current, noted.invitation, None)
        except ConcurrentUpdate:
            pass  # someone else wrote the invitation; the next try notes its own error
