"""The invitation e-mail after its intent was recorded: send it once, settle it.

The invitation's guarded write records the send (`email.status` queued, a send id, the attempt)
and InvitationService.enqueue_email puts it on `invitation-email` (a lost message is found by the
sweeper); a send's kind says whether it is the invitation e-mail or its reminder. Everything here
follows from that record and is idempotent, so a repeated or stale queue message, a redelivered
delivery report or a sweep that re-enqueues a send in flight changes nothing; every record goes
through InvitationService.record_email (guarded, audited):
- `send`: the queue worker takes the send's place in the sending quota (a batch row's was taken
  when its invitation was created), and if that is later, or ACS throttles it (429), puts the send
  off: records when it is due and queues it for then, without counting a failed try
  (docs/decisions/0016-email-pacing.md). Else it hands the message to ACS with the send id as
  operation id, records `sent` once ACS accepted it, and raises a retryable error on a passing
  failure (the queue retries);
- a notice to the inviter (INVITER_NOTIFICATIONS) goes out the same way under its own send id, and
  records `inviter-told` once sent;
- `fail_poisoned`: after maxDequeueCount the poison queue's worker records `failed` with the last error;
- `settle`: an ACS delivery report records delivered, bounced, suppressed or failed, with its time;
  a later report of another state (a bounce after "Delivered") replaces it, an older one does not.
Before rendering, `send` finds out the invitee's work tenant and its consent (WorkAccountService):
the admin-approval paragraph only where it may be needed. A message whose send id is the
invitation's approval notice (its tenant consented) sends that short e-mail instead, once.
"""

import logging
from datetime import timedelta

from shared.domain.errors import NotFound, Unavailable
from shared.domain.mail import OutgoingEmail
from shared.domain.models import COMPLETED, PENDING, REVOKED, DeliveryReport, EmailIntent, Invitation, InviterNotice, WorkAccount
from shared.log_context import invitation_context
from shared.presentation.invitation_email import ProductLinks, render_approval_email, render_invitation_email, render_inviter_notice
from shared.services.invitations import InvitationService
from shared.services.ports import EmailOperations, EmailSender, SendBudget, Versioned
from shared.services.work_accounts import Finding, WorkAccountService, needs_approval_help

log = logging.getLogger(__name__)
WORKER = "invitation-email-worker"  # the actor of what the queue workers record
DELIVERY_REPORTS = "acs-delivery-report"


class EmailNotSent(Unavailable):
    """ACS (or the outbox) refused the send for now; the queue delivers the message again later."""


class InvitationEmailService:
    def __init__(
        self,
        invitations: InvitationService,
        operations: EmailOperations,
        sender: EmailSender,
        budget: SendBudget,
        work_accounts: WorkAccountService,
        *,
        product: ProductLinks,
    ) -> None:
        self.invitations, self._operations, self._sender, self._budget = invitations, operations, sender, budget
        self._work_accounts = work_accounts
        self._product = product

    def send(self, intent: EmailIntent) -> None:
        """Carry out the recorded send, once; a message for a send that is no longer queued is a no-op."""
        try:
            loaded = self.invitations.load(intent.invitation_id)
        except NotFound:
            log.warning("E-mail %s: invitation %s does not exist", intent.send_id, intent.invitation_id)
            return
        invitation = loaded.invitation
        notice = invitation.inviter_notice(intent.send_id)
        if notice is not None:
            self._tell_inviter(invitation, notice, intent)
            return
        account = invitation.work_account
        if account is not None and account.approval_notice_send_id == intent.send_id:
            self._send_approval_notice(loaded)
            return
        email = invitation.email
        if email is None or email.send_id != intent.send_id or email.status != "queued":
            return
        status = invitation.effective_status(self.invitations.clock())
        # A reminder is for a pending invitation only: one signed in, closed or expired meanwhile gets none.
        if status in (REVOKED, COMPLETED) or (email.kind == "reminder" and status != PENDING):
            error = f"Not sent: the invitation is {status.value}"
            self.invitations.record_email(intent, "failed", actor=WORKER, after=("queued",), error=error, current=loaded)
            return
        now = self.invitations.clock()
        due = email.next_attempt_at or self._budget.reserve(now, bulk=False)
        if due > now:
            log.info("Invitation %s e-mail %s: due at %s (sending quota)", invitation.id, intent.send_id, due.isoformat())
            self.invitations.defer_email(intent, due, current=loaded)
            return
        loaded, finding = self._work_accounts.find_out(loaded)
        invitation = loaded.invitation
        # Before ACS could report on the operation, so every report finds its invitation.
        self._operations.remember(intent.send_id, invitation.id)
        result = self._sender.send(self._render(invitation, finding), operation_id=intent.send_id)
        log.info("Invitation %s e-mail %s: %s", invitation.id, intent.send_id, result.status)
        if result.status == "throttled":
            wait = timedelta(seconds=result.retry_after or 0)
            self.invitations.defer_email(intent, self.invitations.clock() + wait, error=result.error, current=loaded)
        elif result.status == "sent":
            self.invitations.record_email(
                intent,
                "sent",
                actor=WORKER,
                after=("queued",),
                operation_id=result.operation_id,
                current=loaded,  # its ETag still guards the write: a change meanwhile makes it read again
            )
        elif result.retryable:
            error = result.error or "E-mail not sent"
            self.invitations.note_email_error(intent, error)
            raise EmailNotSent(error, code="email-not-sent")
        else:
            self.invitations.record_email(intent, "failed", actor=WORKER, after=("queued",), error=result.error, current=loaded)

    def _tell_inviter(self, invitation: Invitation, notice: InviterNotice, intent: EmailIntent) -> None:
        """Send a queued notice to the inviter, once (few and not paced to the quota: a throttled or
        passing failure is retried by the queue)."""
        if notice.status != "queued" or invitation.inviter.email is None:
            return
        message = render_inviter_notice(
            kind=notice.kind,
            to_address=invitation.inviter.email,
            to_name=invitation.inviter.name,
            invitee_name=invitation.invitee.display_name,
            invitee_address=invitation.invitee.email,
            company=invitation.completion.company.name if invitation.completion else invitation.company.name,
            language=invitation.language,
            product=self._product,
        )
        result = self._sender.send(message, operation_id=notice.send_id)
        log.info("Invitation %s inviter notice %s (%s): %s", invitation.id, notice.send_id, notice.kind, result.status)
        if result.status == "sent":
            self.invitations.record_notice(intent, "sent")
        elif result.status == "throttled" or result.retryable:
            raise EmailNotSent(result.error or "Inviter notice not sent", code="email-not-sent")
        else:
            self.invitations.record_notice(intent, "failed", result.error)

    def fail_poisoned(self, intent: EmailIntent) -> None:
        """The queue gave up on this send: record it failed with the last error a try met."""
        try:
            invitation = self.invitations.get(intent.invitation_id)
        except NotFound:
            return
        if invitation.inviter_notice(intent.send_id) is not None:
            self.invitations.record_notice(intent, "failed", "The notice could not be handed over for delivery")
            return
        email = invitation.email
        error = (email.error if email else None) or "The e-mail could not be handed over for delivery"
        self.invitations.record_email(intent, "failed", actor=WORKER, after=("queued",), error=error)

    def settle(self, report: DeliveryReport) -> None:
        """Record ACS's delivery report on the send it is about; unknown, repeated or older reports are no-ops."""
        invitation_id = self._operations.invitation_of(report.operation_id)
        if invitation_id is None:
            log.info("Delivery report for unknown e-mail operation %s", report.operation_id)
            return
        with invitation_context(invitation_id):  # one webhook call carries reports about many invitations
            try:
                self.invitations.settle_email(invitation_id, report, actor=DELIVERY_REPORTS)
            except NotFound:
                log.warning("Delivery report for deleted invitation %s", invitation_id)

    def _send_approval_notice(self, current: Versioned) -> None:
        """Tell a still pending invitee that their administrator consented, once: the send id is ACS's
        operation id (a repeat sends nothing new) and its record ends the repeats."""
        invitation = current.invitation
        account = invitation.work_account
        if account is None or account.approval_notice_send_id is None or account.approval_notice_sent_at is not None:
            return
        if invitation.effective_status(self.invitations.clock()) != PENDING:  # signed in meanwhile, or closed
            send_id = account.approval_notice_send_id
            self.invitations.take_step(current, lambda changed, _now: changed.drop_approval_notice(send_id))
            return
        message = render_approval_email(
            to_address=invitation.invitee.email,
            to_name=invitation.invitee.display_name,
            inviter_name=invitation.inviter.name,
            redeem_url=invitation.invite_redeem_url,
            language=invitation.language,
            product=self._product,
        )
        send_id = account.approval_notice_send_id
        result = self._sender.send(message, operation_id=send_id)
        log.info("Invitation %s approval e-mail %s: %s", invitation.id, send_id, result.status)
        if result.status == "sent":
            self.invitations.take_step(current, lambda changed, now: changed.record_approval_notice(send_id, now))
        elif result.retryable or result.status == "throttled":
            raise EmailNotSent(result.error or "Approval e-mail not sent", code="email-not-sent")
        else:
            log.error("Invitation %s approval e-mail %s refused: %s", invitation.id, send_id, result.error)

    def _render(self, invitation: Invitation, finding: WorkAccount | Finding) -> OutgoingEmail:
        return render_invitation_email(
            to_address=invitation.invitee.email,
            to_name=invitation.invitee.display_name,
            inviter_name=invitation.inviter.name,
            inviter_organisation=invitation.inviter.organisation,
            redeem_url=invitation.invite_redeem_url,
            language=invitation.language,
            custom_message=invitation.message,
            expires_at=invitation.expires_at,
            admin_consent_help_url=self.invitations.links.admin_consent_help(invitation.id) if needs_approval_help(finding) else None,
            product=self._product,
            reminder=invitation.email is not None and invitation.email.kind == "reminder",
        )
