from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scanfleet.schedules.timing import Timing, TimingError


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_daily_cron_follows_the_zone_across_dst() -> None:
    daily = Timing(cron="0 9 * * *", timezone="Europe/Berlin")
    # 09:00 Berlin is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST).
    assert daily.upcoming(utc(2026, 3, 27, 12), 3) == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]


def test_time_in_the_spring_forward_gap_fires_after_the_jump() -> None:
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    nightly = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    fires = nightly.upcoming(utc(2026, 3, 28, 12), 3)
    assert fires == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]
    assert fires[0].astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "03:30 CEST"


def test_time_that_happens_twice_at_fall_back_fires_once() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    nightly = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    fires = nightly.upcoming(utc(2026, 10, 24, 12), 2)
    assert fires == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]  # the first 02:30 (CEST), then CET


def test_every_fifteen_minutes_through_the_gap_never_fires_twice_at_one_instant() -> None:
    quarter = Timing(cron="*/15 * * * *", timezone="Europe/Berlin")
    fires = quarter.upcoming(utc(2026, 3, 29, 0, 40), 6)
    assert len(set(fires)) == len(fires) and fires == sorted(fires)
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(fires))


def test_interval_and_shortest_gap() -> None:
    assert Timing(interval_seconds=90).upcoming(utc(2026, 1, 1), 2) == [
        utc(2026, 1, 1, 0, 1, 30),
        utc(2026, 1, 1, 0, 3),
    ]
    assert Timing(cron="*/5 * * * *").shortest_gap_seconds(utc(2026, 1, 1)) == 300
    assert Timing(cron="0 9,10 * * *").shortest_gap_seconds(utc(2026, 1, 1)) == 3600


def test_jitter_is_bounded_and_stable() -> None:
    timing = Timing(interval_seconds=60, jitter_seconds=30)
    planned = utc(2026, 1, 1)
    delays = {timing.jitter_for(f"s{n}", planned) for n in range(200)}
    assert all(timedelta() <= d < timedelta(seconds=30) for d in delays) and len(delays) > 10
    assert timing.jitter_for("s1", planned) == timing.jitter_for("s1", planned)


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"cron": "61 * * * *"}, "cron", "cron_invalid"),
        ({"cron": "* * * * * *"}, "cron", "cron_invalid"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone", "timezone_unknown"),
        ({"interval_seconds": 0}, "interval_seconds", "interval_invalid"),
        ({}, "cron", "timing_required"),
        ({"cron": "0 9 * * *", "interval_seconds": 60}, "cron", "timing_required"),
        ({"interval_seconds": 60, "jitter_seconds": -1}, "jitter_seconds", "jitter_invalid"),
    ],
)
def test_bad_timing_names_field_and_rule(kwargs: dict[str, object], field: str, rule: str) -> None:
    with pytest.raises(TimingError) as caught:
        Timing(**kwargs)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.rule) == (field, rule)
