"""The funnel's rules without I/O: durations in fixed buckets, the median and p90 from bucket counts,
which audit actions are steps, and what a step does to the stall index."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.domain.funnel import BUCKETS, DayRollup, Tally, bucket, quantile, summarize


def test_a_duration_falls_in_the_first_bucket_whose_bound_holds_it() -> None:
    assert [bucket(s) for s in (0, 60, 61, 300, 30 * 86400, 30 * 86400 + 1)] == [0, 0, 1, 1, len(BUCKETS) - 1, len(BUCKETS)]


def test_median_and_p90_are_the_bounds_of_the_buckets_holding_them() -> None:
    histogram = [0] * (len(BUCKETS) + 1)
    histogram[1], histogram[3], histogram[7] = 5, 4, 1  # ≤5 min ×5, ≤1 h ×4, ≤1 day ×1
    assert quantile(histogram, 0.5) == 300
    assert quantile(histogram, 0.9) == 3600
    assert quantile(histogram, 0.95) == 86400
    assert quantile([0] * (len(BUCKETS) + 1), 0.5) is None
    assert quantile([0] * len(BUCKETS) + [3], 0.5) is None  # beyond the last bound


def test_a_rollup_adds_steps_and_summarize_merges_days() -> None:
    day, other = date(2030, 3, 5), date(2030, 3, 6)
    first = DayRollup(day=day).add(Tally(day, "created")).add(Tally(day, "delivered", "createdToDelivered", 30))
    second = DayRollup(day=other).add(Tally(other, "delivered", "createdToDelivered", 4000))
    funnel = summarize(day, other, [first, second], [], 48)
    assert funnel.counts["created"] == 1 and funnel.counts["delivered"] == 2 and funnel.counts["completed"] == 0
    assert funnel.durations["createdToDelivered"].samples == 2
    assert funnel.durations["createdToDelivered"].p90_seconds == 3 * 3600
    assert funnel.durations["signedInToCompleted"].median_seconds is None
    assert funnel.model_dump(by_alias=True, mode="json")["from"] == "2030-03-05"
    assert datetime(2030, 3, 5, tzinfo=UTC).date() == funnel.from_
