"""How many worker replicas the queue asks for.

The fleet grows, by at most `step_up` a decision, toward the larger of depth (ready + running jobs over
`jobs_per_replica`, rounded up) and latency (one step more while the oldest ready job has waited past
`target_wait_seconds`). It shrinks, by at most `step_down`, only while the load would fit a smaller fleet at three
quarters of its depth and no ready job has waited half the target, once that has held and nothing has changed
for `cooldown_seconds`; the gap between the grow and shrink thresholds keeps a steady load from flapping.
Deferred jobs are left out (more workers cannot run them sooner), and the answer is always within min..max.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scanfleet.broker.stats import QueueTruth
from scanfleet.config import Settings

SHRINK_FILL = 0.75  # a smaller fleet must carry the load with a quarter of its depth to spare
CALM_WAIT_FRACTION = 0.5  # …and the oldest ready job must have waited less than half the target


@dataclass
class ScalingPolicy:
    min_replicas: int
    max_replicas: int
    target_wait_seconds: float
    jobs_per_replica: int
    step_up: int
    step_down: int
    cooldown_seconds: float
    # Monotonic times: the last change this policy decided, and since when demand has been low without a break.
    _changed_at: float | None = field(default=None, init=False, repr=False)
    _calm_since: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.min_replicas <= self.max_replicas or self.max_replicas < 1:
            raise ValueError(f"replicas need 0 <= MIN <= MAX and MAX >= 1, got {self.min_replicas}:{self.max_replicas}")
        if self.step_up < 1 or self.step_down < 1 or self.jobs_per_replica < 1:
            raise ValueError("steps and jobs per replica must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> ScalingPolicy:
        return cls(
            min_replicas=settings.autoscale_min_replicas,
            max_replicas=settings.autoscale_max_replicas,
            target_wait_seconds=settings.autoscale_target_wait_seconds,
            jobs_per_replica=settings.autoscale_jobs_per_replica,
            step_up=settings.autoscale_step_up,
            step_down=settings.autoscale_step_down,
            cooldown_seconds=settings.autoscale_cooldown_seconds,
        )

    def decide(self, truth: QueueTruth, current: int, now: float) -> int:
        """Desired replicas, given the queue and the replica count decided before (`now` from a monotonic clock).

        A hold answers `current`: pass the count being kept (the last answer), not one that lags behind it
        (workers still starting or draining), or a step down would be undone on the next call.
        """
        if not self.min_replicas <= current <= self.max_replicas:
            return self._change(min(max(current, self.min_replicas), self.max_replicas), now)
        load = truth.ready + truth.running
        wanted = math.ceil(load / self.jobs_per_replica)
        if truth.oldest_ready_age_seconds > self.target_wait_seconds:
            wanted = max(wanted, current + self.step_up)
        if wanted > current:
            self._calm_since = None
            grown = min(wanted, current + self.step_up, self.max_replicas)
            return self._change(grown, now) if grown > current else current

        fits = max(self.min_replicas, math.ceil(load / (self.jobs_per_replica * SHRINK_FILL)))
        if fits >= current or truth.oldest_ready_age_seconds >= self.target_wait_seconds * CALM_WAIT_FRACTION:
            self._calm_since = None
            return current
        if self._calm_since is None:
            self._calm_since = now
        quiet_since = self._calm_since if self._changed_at is None else max(self._calm_since, self._changed_at)
        if now - quiet_since < self.cooldown_seconds:
            return current
        return self._change(max(fits, current - self.step_down), now)

    def _change(self, desired: int, now: float) -> int:
        self._changed_at = now
        return desired
