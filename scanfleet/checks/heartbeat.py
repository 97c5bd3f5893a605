"""A heartbeat's state as a check sees it; the scheduler decides lateness with the same rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class HeartbeatState:
    last_ping_at: datetime | None
    period_seconds: float
    grace_seconds: float

    def due_by(self) -> datetime | None:
        """When the next ping is late; None before the first ping."""
        if self.last_ping_at is None:
            return None
        return self.last_ping_at + timedelta(seconds=self.period_seconds + self.grace_seconds)

    def on_time(self, now: datetime) -> bool:
        due = self.due_by()
        return due is not None and now <= due
