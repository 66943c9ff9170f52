"""The onboarding funnel: which audit actions are its steps, the time between steps, and the per-day
rollup that sums them (counters, and a histogram of fixed buckets per interval, so a median and a p90
come from bucket counts without keeping every duration).

A step is counted by the write that records it (the invitation's guarded write happens once per step),
so a step taken again (a resent e-mail delivered again, a reset invitation signed in again) counts again.
"""

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field

from shared.domain.models import ApiModel, AuditEvent, Invitation, Inviter

Step = Literal["created", "delivered", "opened", "signedIn", "completed", "revoked", "expired", "bounced"]
STEPS: tuple[Step, ...] = ("created", "delivered", "opened", "signedIn", "completed", "revoked", "expired", "bounced")
_STEP_OF_ACTION: dict[str, Step] = {
    "created": "created",
    "email-delivered": "delivered",
    "link-opened": "opened",
    "accepted": "signedIn",
    "completed": "completed",
    "revoked": "revoked",
    "expired": "expired",
    "email-bounced": "bounced",
}
Interval = Literal["createdToDelivered", "deliveredToOpened", "openedToSignedIn", "signedInToCompleted"]
INTERVALS: tuple[Interval, ...] = ("createdToDelivered", "deliveredToOpened", "openedToSignedIn", "signedInToCompleted")
# Upper bounds (seconds) of the histogram buckets; one more bucket holds what is longer than the last.
BUCKETS: tuple[int, ...] = tuple(
    int(timedelta(**span).total_seconds())
    for span in (
        {"minutes": 1},
        {"minutes": 5},
        {"minutes": 15},
        {"hours": 1},
        {"hours": 3},
        {"hours": 6},
        {"hours": 12},
        {"days": 1},
        {"days": 2},
        {"days": 3},
        {"days": 5},
        {"days": 7},
        {"days": 14},
        {"days": 30},
    )
)
StallStage = Literal["opened", "signedIn"]


@dataclass(frozen=True)
class Tally:
    """What one step adds to its day's rollup: the step, and the time since the step before it (if known)."""

    day: date
    step: Step
    interval: Interval | None = None
    seconds: float | None = None


def _seconds(later: datetime, earlier: datetime | None) -> float | None:
    return None if earlier is None else max(0.0, (later - earlier).total_seconds())


def tally(before: Invitation | None, after: Invitation, event: AuditEvent) -> Tally | None:
    """The funnel step an audit event records, with its interval (from the invitation before and after
    the write that records it); None for an action that is no step of the funnel."""
    step = _STEP_OF_ACTION.get(event.action)
    if step is None:
        return None
    interval: Interval | None = None
    since: datetime | None = None
    if step == "delivered" and after.email is not None:
        interval, since = "createdToDelivered", after.email.queued_at
    elif step == "opened" and before is not None and before.email is not None and before.email.status == "delivered":
        interval, since = "deliveredToOpened", before.email.reported_at or before.email.updated_at
    elif step == "signedIn":
        interval, since = "openedToSignedIn", after.opened_at
    elif step == "completed" and before is not None:
        interval, since = "signedInToCompleted", before.accepted_at
    seconds = _seconds(event.at, since)
    return Tally(event.at.date(), step, interval if seconds is not None else None, seconds)


def bucket(seconds: float) -> int:
    """The index of the histogram bucket a duration falls in."""
    return bisect_left(BUCKETS, seconds)


def quantile(histogram: list[int], q: float) -> int | None:
    """The upper bound (seconds) of the bucket holding the q-quantile; None without durations, or when it
    lies beyond the last bound."""
    total = sum(histogram)
    if total == 0:
        return None
    running = 0
    for index, count in enumerate(histogram):
        running += count
        if running >= q * total:
            return BUCKETS[index] if index < len(BUCKETS) else None
    return None


class DayRollup(ApiModel):
    """One day's steps: a counter per step and a histogram per interval (len(BUCKETS) + 1 buckets)."""

    day: date
    counts: dict[Step, int] = Field(default_factory=dict)
    histograms: dict[Interval, list[int]] = Field(default_factory=dict)

    def add(self, tally: Tally) -> "DayRollup":
        counts = {**self.counts, tally.step: self.counts.get(tally.step, 0) + 1}
        histograms = dict(self.histograms)
        if tally.interval is not None and tally.seconds is not None:
            histogram = list(histograms.get(tally.interval) or [0] * (len(BUCKETS) + 1))
            histogram[bucket(tally.seconds)] += 1
            histograms[tally.interval] = histogram
        return self.model_copy(update={"counts": counts, "histograms": histograms})


class StallCandidate(ApiModel):
    """An invitation that reached a stage it may stall at (opened, not signed in; signed in, not
    completed), in the stall index until it moves on."""

    invitation_id: str
    stage: StallStage
    since: datetime
    invitee_email: str
    inviter: Inviter


def stall_change(after: Invitation, event: AuditEvent) -> StallCandidate | Literal["clear"] | None:
    """What a step does to the stall index: a new candidate (opened, signed in), "clear" (the
    invitation moved on, closed or was reset), or nothing."""
    if event.action in ("link-opened", "accepted"):
        stage: StallStage = "opened" if event.action == "link-opened" else "signedIn"
        return StallCandidate(invitation_id=after.id, stage=stage, since=event.at, invitee_email=after.invitee.email, inviter=after.inviter)
    # Only an invitation that was opened or signed in can be in the index (a reset drops accepted_at).
    may_be_listed = after.opened_at is not None or after.accepted_at is not None or event.action == "redemption-reset"
    if event.action in ("completed", "revoked", "expired", "redemption-reset") and may_be_listed:
        return "clear"
    return None


class Duration(ApiModel):
    """Approximate median and p90 of the time between two steps: the upper bound of the histogram
    bucket each falls in (null without data, or beyond 30 days)."""

    samples: int
    median_seconds: int | None
    p90_seconds: int | None


class FunnelQuery(ApiModel):
    """Query string of GET /api/invitations/funnel: a range of whole UTC days, both included."""

    from_: date | None = Field(default=None, alias="from", description="First day (UTC), default 29 days before `to`.")
    to: date | None = Field(default=None, description="Last day (UTC), default today.")


class Funnel(ApiModel):
    """The funnel over a range of days: steps taken in it, the time between steps, and the
    invitations stalled now."""

    from_: date = Field(alias="from")
    to: date
    counts: dict[Step, int]
    durations: dict[Interval, Duration]
    stalled_after_hours: int
    stalled: list[StallCandidate]


MAX_DAYS = 366


def summarize(first: date, last: date, days: list[DayRollup], stalled: list[StallCandidate], stalled_after_hours: int) -> Funnel:
    counts = {step: sum(day.counts.get(step, 0) for day in days) for step in STEPS}
    durations = {}
    for interval in INTERVALS:
        merged = [0] * (len(BUCKETS) + 1)
        for day in days:
            for index, count in enumerate(day.histograms.get(interval, [])):
                merged[index] += count
        durations[interval] = Duration(samples=sum(merged), median_seconds=quantile(merged, 0.5), p90_seconds=quantile(merged, 0.9))
    fields = {"from": first, "to": last, "counts": counts, "durations": durations, "stalled": stalled}
    return Funnel.model_validate({**fields, "stalledAfterHours": stalled_after_hours})
