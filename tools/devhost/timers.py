"""Timer triggers: NCRONTAB and TimeSpan schedules, fired like the host's timer listener.

NCRONTAB (the host's cron dialect) has six fields, seconds first:
``{second} {minute} {hour} {day} {month} {day-of-week}``, each ``*``, a value, a range ``a-b``,
a step ``*/n``, ``a-b/n`` or ``a/n``, or a list of those; months and days of the week also by
their English abbreviations (``Jan``, ``Mon``); day of week 0 is Sunday. Unlike Unix cron, a
time must match both the day and the day of week (NCrontab checks each). Five fields are
read as ``{minute} …`` at second 0. A TimeSpan (``hh:mm:ss``) fires at that interval.
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

from tools.devhost.functions import invoke
from tools.devhost.hostconfig import parse_timespan

log = logging.getLogger("devhost")

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (lowest, highest, names) per field, seconds first.
_FIELDS: list[tuple[int, int, dict[str, int]]] = [
    (0, 59, {}),
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, {name: number for number, name in enumerate(_MONTHS, start=1)}),
    (0, 6, {name: number for number, name in enumerate(_DAYS)}),
]
SEARCH_YEARS = 5  # an expression that never matches within this span (e.g. 30 Feb) is refused
PAST_DUE_AFTER = timedelta(seconds=1)


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime: ...


def _field(text: str, lowest: int, highest: int, names: dict[str, int]) -> frozenset[int]:
    def number(token: str) -> int:
        value = names.get(token.lower()) if not token.isdigit() else int(token)
        if value is None or not lowest <= value <= highest:
            raise ValueError(f"{token!r} is not in {lowest}-{highest}")
        return value

    values: set[int] = set()
    for part in text.split(","):
        span, slash, step_text = part.partition("/")
        step = int(step_text) if slash else 1
        if step < 1:
            raise ValueError(f"step in {part!r} must be positive")
        if span == "*":
            first, last = lowest, highest
        elif "-" in span:
            first, last = (number(token) for token in span.split("-", 1))
        else:
            first = number(span)
            last = highest if slash else first
        if first > last:
            raise ValueError(f"range {span!r} runs backwards")
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        fields = expression.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise ValueError(f"{expression!r}: NCRONTAB needs 6 fields ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}})")
        try:
            sets = [_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
        except ValueError as error:
            raise ValueError(f"{expression!r}: {error}") from None
        schedule = cls(*sets)
        schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # refuses one that never fires
        return schedule

    def next_after(self, moment: datetime) -> datetime:
        """The first whole second strictly after ``moment`` that matches, in ``moment``'s zone."""
        t = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = t + timedelta(days=366 * SEARCH_YEARS)
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
            elif t.day not in self.days or (t.weekday() + 1) % 7 not in self.weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise ValueError(f"schedule never fires within {SEARCH_YEARS} years")


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
