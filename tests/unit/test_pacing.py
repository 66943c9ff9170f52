"""The sending quota's places (shared/domain/pacing.py): windows fill up to their limits, an hour
that is full moves sends to the next hour, and bulk sends leave a reserve to single invitations
and are spread over their minute."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from shared.domain.pacing import Quota, Slot, next_slot, window_start

NOW = datetime(2030, 3, 5, 12, 0, 10, tzinfo=UTC)
MINUTE = datetime(2030, 3, 5, 12, 0, tzinfo=UTC)
QUOTA = Quota(per_minute=30, per_hour=100, reserve_percent=20)


def take(quota: Quota, count: int, now: datetime, *, bulk: bool, minutes: Counter[datetime], hours: Counter[datetime]) -> list[Slot]:
    slots = []
    for _ in range(count):
        slot = next_slot(quota, minutes, hours, now, bulk=bulk)
        minutes[slot.minute] += 1
        hours[slot.hour] += 1
        slots.append(slot)
    return slots


def test_a_single_send_goes_now_while_its_window_has_room_then_in_the_next_minute() -> None:
    minutes: Counter[datetime] = Counter()
    hours: Counter[datetime] = Counter()
    slots = take(QUOTA, 31, NOW, bulk=False, minutes=minutes, hours=hours)
    assert [slot.at for slot in slots[:30]] == [NOW] * 30
    assert slots[30].at == MINUTE + timedelta(minutes=1)


def test_bulk_sends_leave_the_reserve_and_are_spread_over_their_minute() -> None:
    minutes: Counter[datetime] = Counter()
    hours: Counter[datetime] = Counter()
    slots = take(QUOTA, 25, MINUTE, bulk=True, minutes=minutes, hours=hours)
    assert QUOTA.limits(bulk=True) == (24, 80)
    assert [slot.at for slot in slots[:3]] == [MINUTE, MINUTE + timedelta(seconds=2), MINUTE + timedelta(seconds=4)]
    assert {slot.minute for slot in slots[:24]} == {MINUTE}
    assert slots[24].at == MINUTE + timedelta(minutes=1)
    # A single invitation created meanwhile still finds room in the current minute.
    [single] = take(QUOTA, 1, MINUTE + timedelta(seconds=5), bulk=False, minutes=minutes, hours=hours)
    assert single.at == MINUTE + timedelta(seconds=5)


def test_a_full_hour_moves_sends_to_the_next_hour_and_the_reserve_holds_there_too() -> None:
    minutes: Counter[datetime] = Counter()
    hours: Counter[datetime] = Counter()
    slots = take(QUOTA, 81, MINUTE, bulk=True, minutes=minutes, hours=hours)
    hour = window_start(MINUTE, QUOTA.hour)
    assert hours[hour] == 80 and slots[79].minute == MINUTE + timedelta(minutes=3)
    assert slots[80].at == hour + timedelta(hours=1)
    # The 20 left in the first hour are the single invitations'.
    singles = take(QUOTA, 21, MINUTE + timedelta(minutes=5), bulk=False, minutes=minutes, hours=hours)
    assert all(slot.hour == hour for slot in singles[:20]) and singles[20].hour == hour + timedelta(hours=1)


def test_a_thousand_row_batch_takes_the_time_the_quota_allows() -> None:
    minutes: Counter[datetime] = Counter()
    hours: Counter[datetime] = Counter()
    slots = take(QUOTA, 1000, NOW, bulk=True, minutes=minutes, hours=hours)
    assert max(minutes.values()) <= 24 and max(hours.values()) <= 80
    assert slots[-1].at - NOW < timedelta(hours=13), "1,000 at 80 an hour: 12.5 hours"


def test_a_shorter_minute_scales_every_window() -> None:
    quota = Quota(per_minute=30, per_hour=100, reserve_percent=20, minute=timedelta(seconds=3))
    assert (quota.hour, quota.spacing()) == (timedelta(minutes=3), timedelta(seconds=0.1))
    assert window_start(datetime(2030, 1, 1, 0, 0, 4, tzinfo=UTC), quota.minute) == datetime(2030, 1, 1, 0, 0, 3, tzinfo=UTC)
