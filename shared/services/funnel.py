"""The onboarding funnel: kept in step with the lifecycle, answered from the rollup.

Every write that records a step of an invitation (its guarded write, which happens once per step)
hands the step to `record`: it adds the step to its day's rollup and moves the invitation in the
stall index, off the request's path (InvitationService's hand-over threads). A failure is logged
and loses that one count: the rollup is statistics, the invitation rows stay the truth.
`report` reads one partition of day rows and one of stall candidates, whatever the table's size.
"""

import logging
import threading
from collections.abc import Callable
from datetime import date, timedelta

from shared.domain import funnel
from shared.domain.errors import DomainError, InvalidInput
from shared.domain.funnel import Funnel, FunnelQuery, Tally
from shared.domain.models import AuditEvent, Invitation
from shared.services.ports import Clock, FunnelStore

log = logging.getLogger(__name__)
STALLED_LISTED = 200  # the stalled invitations an answer lists, longest stalled first


class FunnelService:
    def __init__(
        self, store: FunnelStore, clock: Clock, *, stalled_after_hours: int, metrics: Callable[[Tally], None] | None = None
    ) -> None:
        self.store, self.clock, self.stalled_after_hours, self._metrics = store, clock, stalled_after_hours, metrics
        self._lock = threading.Lock()
        self._waiting: list[Tally] = []  # steps not in the rollup yet
        self._adding = False  # a thread is adding the waiting steps

    def record(self, before: Invitation | None, after: Invitation, event: AuditEvent) -> None:
        """Count the step `event` records (the invitation before and after its write) and move the
        invitation in the stall index; logs instead of raising."""
        try:
            if (step := funnel.tally(before, after, event)) is not None:
                if self._metrics is not None:
                    self._metrics(step)
                self._add(step)
            stall = funnel.stall_change(after, event)
            if stall == "clear":
                self.store.clear_stalled(after.id)
            elif stall is not None:
                self.store.mark_stalled(stall)
        except DomainError as error:
            log.warning("Funnel step %s of invitation %s not counted (%s)", event.action, after.id, error)

    def _add(self, step: Tally) -> None:
        """Add the step to the rollup together with those of concurrent requests: the first thread to
        arrive adds every step waiting, again until none is left, so a burst (a batch's rows) costs a
        few writes of the day's row instead of as many lost races as there are steps."""
        with self._lock:
            self._waiting.append(step)
            if self._adding:
                return  # the adding thread takes this one too
            self._adding = True
        while True:
            with self._lock:
                steps, self._waiting = self._waiting, []
                if not steps:
                    self._adding = False
                    return
            try:
                self.store.add(steps)
            except DomainError as error:
                log.warning("%d funnel steps not counted (%s)", len(steps), error)
            except BaseException:
                with self._lock:
                    self._adding = False  # a bug: the next step's thread adds what waits
                raise

    def report(self, query: FunnelQuery) -> Funnel:
        """The funnel of the days query.from_..query.to (InvalidInput for a reversed or overlong range)."""
        now = self.clock()
        last = query.to or now.date()
        first = query.from_ or max(last, date.min + timedelta(days=29)) - timedelta(days=29)
        if first > last:
            raise InvalidInput("`from` must not be after `to`.")
        if (last - first).days >= funnel.MAX_DAYS:
            raise InvalidInput(f"The range may span at most {funnel.MAX_DAYS} days.")
        days = self.store.days(first, last)
        stalled = self.store.stalled(now - timedelta(hours=self.stalled_after_hours), STALLED_LISTED)
        return funnel.summarize(first, last, days, stalled, self.stalled_after_hours)
