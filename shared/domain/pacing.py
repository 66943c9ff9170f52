"""Sending within ACS's e-mail quota: each e-mail takes a place in a minute window and its hour.

ACS starts every resource at 30 e-mails a minute and 100 an hour and answers 429 beyond that
(docs/decisions/0016-email-pacing.md). Windows are fixed (aligned on the epoch) and counted
by the send budget (a port: Table Storage rows shared by every instance). Bulk sends (batch rows)
may fill a window only up to its limit less a reserve, so a single invitation created meanwhile
finds room in the current window instead of waiting behind the whole batch; bulk sends are spread
over their window (one every minute/limit) rather than sent in a burst at its start.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTES_PER_HOUR = 60


@dataclass(frozen=True)
class Quota:
    per_minute: int
    per_hour: int
    reserve_percent: int = 20  # of each window, left by bulk sends to single invitations
    minute: timedelta = timedelta(minutes=1)  # tests shorten it; an hour is 60 of them

    @property
    def hour(self) -> timedelta:
        return self.minute * _MINUTES_PER_HOUR

    def limits(self, *, bulk: bool) -> tuple[int, int]:
        """(per minute, per hour) a send of this kind may fill a window up to."""
        if not bulk:
            return self.per_minute, self.per_hour
        return _less_reserve(self.per_minute, self.reserve_percent), _less_reserve(self.per_hour, self.reserve_percent)

    def spacing(self) -> timedelta:
        return self.minute / self.per_minute


def _less_reserve(limit: int, percent: int) -> int:
    return max(1, limit - limit * percent // 100)


def window_start(at: datetime, length: timedelta) -> datetime:
    return _EPOCH + ((at - _EPOCH) // length) * length


@dataclass(frozen=True)
class Slot:
    """A place in the quota: when the e-mail may go, and the windows it counts in."""

    at: datetime
    minute: datetime
    hour: datetime


def next_slot(quota: Quota, minutes: Mapping[datetime, int], hours: Mapping[datetime, int], now: datetime, *, bulk: bool) -> Slot:
    """The first place from `now` on with room for a send of this kind, given how many sends each
    window (by its start) has taken. A bulk send's place is spread over its minute by how many
    went before it; a single one goes as soon as its window starts."""
    minute_limit, hour_limit = quota.limits(bulk=bulk)
    window = window_start(now, quota.minute)
    while True:
        hour = window_start(window, quota.hour)
        if hours.get(hour, 0) >= hour_limit:
            window = hour + quota.hour
            continue
        taken = minutes.get(window, 0)
        if taken < minute_limit:
            at = window + quota.spacing() * taken if bulk else window
            return Slot(max(now, at), window, hour)
        window += quota.minute
