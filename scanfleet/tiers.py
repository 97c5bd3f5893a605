"""Tiers and the limits they give an organisation, with per-organisation overrides."""

from __future__ import annotations

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


DEFAULTS = {
    "free": Limits("free", 1, 5, 60, 5, 3600),
    "pro": Limits("pro", 5, 50, 600, 50, 300),
    "enterprise": Limits("enterprise", 20, 200, 3000, 500, 60),
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
    )
