"""When a schedule fires.

Cron expressions (5 fields) are read in the schedule's time zone, on wall-clock time, then turned into
instants. Daylight-saving rules, stated and tested:
- a wall time inside a spring-forward gap fires at the same offset after the jump (02:30 → 03:30);
- a wall time that happens twice at fall-back fires once, at its first occurrence;
- two wall times that land on the same instant fire once.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


class TimingError(ValueError):
    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class Timing:
    cron: str | None = None
    timezone: str = "UTC"
    interval_seconds: int | None = None
    jitter_seconds: int = 0

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.interval_seconds is None):
            raise TimingError("cron", "timing_required", "give either a cron expression or an interval, not both")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TimingError("timezone", "timezone_unknown", f"{self.timezone!r} is not an IANA time zone") from None
        if self.cron is not None and (len(self.cron.split()) != 5 or not croniter.is_valid(self.cron)):
            raise TimingError("cron", "cron_invalid", f"{self.cron!r} is not a 5-field cron expression")
        if self.interval_seconds is not None and self.interval_seconds < 1:
            raise TimingError("interval_seconds", "interval_invalid", "the interval must be at least one second")
        if self.jitter_seconds < 0:
            raise TimingError("jitter_seconds", "jitter_invalid", "jitter cannot be negative")

    def planned_after(self, after: datetime) -> datetime:
        """The next planned instant strictly after `after` (UTC), before jitter."""
        if self.interval_seconds is not None:
            return after + timedelta(seconds=self.interval_seconds)
        assert self.cron is not None  # __post_init__: without an interval there is a cron expression
        zone = ZoneInfo(self.timezone)
        local_after = after.astimezone(zone).replace(tzinfo=None)
        wall_times = croniter(self.cron, local_after)
        while True:
            wall: datetime = wall_times.get_next(datetime)
            # fold=0: a gap time maps past the jump, an ambiguous time to its first occurrence.
            instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
            if instant > after:
                return instant

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        """The next `count` planned instants (UTC), before jitter."""
        times: list[datetime] = []
        while len(times) < count:
            after = self.planned_after(after)
            times.append(after)
        return times

    def shortest_gap_seconds(self, after: datetime, sample: int = 48) -> float:
        """The shortest time between fires over the next `sample` fires (what tier limits look at)."""
        if self.interval_seconds is not None:
            return float(self.interval_seconds)
        times = self.upcoming(after, sample)
        return min((later - earlier).total_seconds() for earlier, later in itertools.pairwise(times))

    def jitter_for(self, schedule_id: str, planned: datetime) -> timedelta:
        """A delay in [0, jitter) that is the same for the same schedule and fire, so retries agree on it."""
        if not self.jitter_seconds:
            return timedelta()
        digest = hashlib.sha256(f"{schedule_id}|{planned.isoformat()}".encode()).digest()
        return timedelta(seconds=int.from_bytes(digest[:8], "big") % self.jitter_seconds)

    def fire_after(self, schedule_id: str, after: datetime) -> datetime:
        """The schedule's next fire strictly after `after`, jitter included."""
        planned = self.planned_after(after)
        return planned + self.jitter_for(schedule_id, planned)
