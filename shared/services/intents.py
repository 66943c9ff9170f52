"""The sweeper: re-drives intents that waited too long for their side effect.

A decision is recorded first (the invitation's guarded write) and carried out afterwards from a
queue message. If the process dies between the write and the enqueue, or the queue cannot be
reached, the intent stays outstanding: the invitation row's `OutstandingSince` column says since
when. Every minute the sweeper finds rows whose intent is older than SWEEP_AFTER_SECONDS and
re-enqueues it; the workers are idempotent, so a message for a side effect already done is a no-op.
Invitations whose one reminder is due (REMINDER_DAYS_BEFORE_EXPIRY) are found by the same scan
and handed to InvitationService.remind (one guarded write records it, so it is sent once).
Bulk batches whose hand-over to the queue was not recorded as long are handed over the same way
(BatchService.redrive, on the header's own OutstandingSince column).
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.domain.models import Invitation
from shared.log_context import invitation_context
from shared.services.ports import Clock, InvitationRepository

log = logging.getLogger(__name__)
Enqueue = Callable[[Invitation], None]  # queues the invitation's outstanding intent of one kind, if it has one
Remind = Callable[[Invitation, int], None]  # queues the invitation's reminder if it is due that many days before expiry
Redrive = Callable[[datetime], int]  # hands over what was outstanding since before the cutoff; how many


class IntentSweeper:
    def __init__(
        self,
        store: InvitationRepository,
        clock: Clock,
        *,
        after_seconds: int,
        enqueuers: list[Enqueue],
        report_expiry: Enqueue,
        redrive_batches: Redrive,
        remind: Remind | None = None,
        remind_days: int = 0,
    ) -> None:
        self.store, self.clock, self._after, self._enqueuers = store, clock, timedelta(seconds=after_seconds), enqueuers
        self._report_expiry, self._redrive_batches = report_expiry, redrive_batches
        # 0 days (or no `remind`): reminders are off, and the scan does not look for them.
        self._reminders = (remind, remind_days) if remind is not None and remind_days > 0 else None

    def sweep(self) -> int:
        """Re-enqueue every outstanding intent older than the threshold and hand over every batch
        outstanding as long; returns how many invitations and batches were re-driven."""
        now = self.clock()
        cutoff = now - self._after
        remind_before = now + timedelta(days=self._reminders[1]) if self._reminders else None
        outstanding, expired, due = self.store.sweepable(cutoff, now, remind_before)
        for invitation in outstanding:
            with invitation_context(invitation.id):
                for enqueue in self._enqueuers:
                    enqueue(invitation)
        if outstanding:
            log.warning("Sweeper re-enqueued the outstanding intents of %d invitation(s)", len(outstanding))
        # Expiry is derived from time, no write takes it: the sweeper records it for the `expired` event.
        for invitation in expired:
            with invitation_context(invitation.id):
                self._report_expiry(invitation)
        if self._reminders:
            remind, days = self._reminders
            for invitation in due:
                with invitation_context(invitation.id):
                    remind(invitation, days)
        return len(outstanding) + self._redrive_batches(cutoff)
