"""Timer triggers: NCRONTAB and TimeSpan schedules, fired like the host's timer listener.

NCRONTAB (the host's cron dialect) has six fields, seconds first:
``{second} {minute} {hour} {day} {month} {day-of-week}``, read by croniter with its seconds field
first. Unlike Unix cron, a time must match both the day and the day of week (NCrontab checks each).
Five fields are read as ``{minute} …`` at second 0. A TimeSpan (``hh:mm:ss``) fires at that interval.
Times are UTC, or the zone ``WEBSITE_TIME_ZONE`` names (IANA), as in Azure.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from azure.functions.timer import TimerRequest
from croniter import CroniterError, croniter

from tools.devhost.functions import invoke
from tools.devhost.hostconfig import parse_timespan

log = logging.getLogger("devhost")

PAST_DUE_AFTER = timedelta(seconds=1)


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime: ...


@dataclass(frozen=True)
class CronSchedule:
    expression: str

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        if len(expression.split()) not in (5, 6):  # croniter would also read a seventh field, a year
            raise ValueError(f"{expression!r}: NCRONTAB needs 6 fields ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}})")
        schedule = cls(expression)
        try:
            schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # croniter refuses bad fields, and one that never fires
        except CroniterError as error:
            raise ValueError(f"{expression!r}: {error}") from None
        return schedule

    def next_after(self, moment: datetime) -> datetime:
        """The first whole second strictly after ``moment`` that matches, in ``moment``'s zone."""
        # day_or=False: a time must match both the day and the day of week, as NCrontab checks them.
        times = croniter(self.expression, moment, second_at_beginning=True, day_or=False)
        found: datetime = times.get_next(datetime)
        return found


@dataclass(frozen=True)
class IntervalSchedule:
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval


def parse_schedule(text: str) -> Schedule:
    """A TimeSpan (``00:05:00``) when it has colons, else NCRONTAB."""
    if ":" in text:
        interval = parse_timespan(text)
        if interval <= timedelta(0):
            raise ValueError(f"{text!r}: a TimeSpan schedule must be positive")
        return IntervalSchedule(interval)
    return CronSchedule.parse(text)


def time_zone() -> tzinfo:
    name = os.environ.get("WEBSITE_TIME_ZONE")
    return ZoneInfo(name) if name else UTC


@dataclass(frozen=True)
class TimerFunction:
    name: str
    arg_name: str
    schedule_text: str
    run_on_startup: bool
    handler: Callable[..., Any]


class TimerListener:
    """Fires one timer function on its own thread, one invocation at a time, on the shared executor."""

    def __init__(self, function: TimerFunction, executor: Executor, stopping: threading.Event) -> None:
        self.function = function
        self.schedule = parse_schedule(function.schedule_text)
        self._zone = time_zone()
        self._executor = executor
        self._stopping = stopping
        self._thread = threading.Thread(target=self._run, name=f"timer:{function.name}", daemon=True)

    def start(self) -> None:
        first = self.schedule.next_after(self._now())
        log.info("%s: timerTrigger '%s', next %s", self.function.name, self.function.schedule_text, first.isoformat())
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _now(self) -> datetime:
        return datetime.now(self._zone)

    def _run(self) -> None:
        last: datetime | None = None
        if self.function.run_on_startup:
            self._fire(self._now(), last, past_due=False, reason="This function was programmatically called via the host APIs.")
            last = self._now()
        due = self.schedule.next_after(self._now())
        while not self._stopping.wait(max(0.0, (due - self._now()).total_seconds())):
            now = self._now()
            if now < due:  # woke a little early
                continue
            self._fire(due, last, past_due=now - due > PAST_DUE_AFTER, reason=f"Timer fired at {now.isoformat()}")
            last = due
            due = self.schedule.next_after(self._now())  # occurrences missed while it ran are skipped, as on the host

    def _fire(self, due: datetime, last: datetime | None, *, past_due: bool, reason: str) -> None:
        request = TimerRequest(
            past_due=past_due,
            schedule_status={
                "Last": (last or datetime.min.replace(tzinfo=self._zone)).isoformat(),
                "Next": self.schedule.next_after(due).isoformat(),
                "LastUpdated": self._now().isoformat(),
            },
            schedule={"AdjustForDST": True},
        )
        arguments = {self.function.arg_name: request}
        self._executor.submit(invoke, self.function.name, self.function.handler, arguments, reason).result()
