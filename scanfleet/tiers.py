"""Tiers and the limits they give an organisation, with per-organisation overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

TIERS = ("free", "pro", "enterprise")


@dataclass(frozen=True)
class Limits:
    tier: str
    max_running: int  # jobs dispatched to workers at once
    max_queued: int  # jobs held by the gate beyond those
    requests_per_minute: int  # API requests per key
    max_schedules: int  # active or paused schedules
    min_schedule_gap_seconds: int  # shortest time between two fires of one schedule
    # Browser scans: a resource class of their own (a page costs a browser's memory and CPU, far more than a
    # fetch), with their own line, so a browser flood never holds up the organisation's other jobs.
    browser_max_running: int = 1
    browser_max_queued: int = 5

    def of_engine(self, engine: str) -> Limits:
        """The running and queued limits that `engine`'s line in the gate applies."""
        if engine != "browser":
            return self
        return dataclasses.replace(self, max_running=self.browser_max_running, max_queued=self.browser_max_queued)


DEFAULTS = {
    "free": Limits("free", 1, 5, 60, 5, 3600, browser_max_running=1, browser_max_queued=2),
    "pro": Limits("pro", 5, 50, 600, 50, 300, browser_max_running=2, browser_max_queued=20),
    "enterprise": Limits("enterprise", 20, 200, 3000, 500, 60, browser_max_running=5, browser_max_queued=100),
}


def limits_for(tier: str, max_running: int | None = None, max_queued: int | None = None) -> Limits:
    base = DEFAULTS[tier]
    return Limits(
        tier=tier,
        max_running=base.max_running if max_running is None else max_running,
        max_queued=base.max_queued if max_queued is None else max_queued,
        requests_per_minute=base.requests_per_minute,
        max_schedules=base.max_schedules,
        min_schedule_gap_seconds=base.min_schedule_gap_seconds,
        browser_max_running=base.browser_max_running,
        browser_max_queued=base.browser_max_queued,
    )
