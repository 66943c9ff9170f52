"""The FunnelStore in memory (the Funnel table's behaviour, held to it by tests/contract/test_funnel_port.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date, datetime

from shared.domain.funnel import DayRollup, StallCandidate, Tally


class MemoryFunnel:
    def __init__(self) -> None:
        self._days: dict[date, DayRollup] = {}
        self._stalled: dict[str, StallCandidate] = {}
        self._lock = threading.Lock()  # steps are recorded on the service's hand-over threads

    def add(self, tallies: Sequence[Tally]) -> None:
        with self._lock:
            for tally in tallies:
                self._days[tally.day] = self._days.get(tally.day, DayRollup(day=tally.day)).add(tally)

    def days(self, first: date, last: date) -> list[DayRollup]:
        return [rollup for day, rollup in sorted(self._days.items()) if first <= day <= last]

    def mark_stalled(self, candidate: StallCandidate) -> None:
        with self._lock:
            self._stalled[candidate.invitation_id] = candidate

    def clear_stalled(self, invitation_id: str) -> None:
        with self._lock:
            self._stalled.pop(invitation_id, None)

    def stalled(self, since_before: datetime, limit: int) -> list[StallCandidate]:
        return sorted((c for c in self._stalled.values() if c.since < since_before), key=lambda c: c.since)[:limit]
