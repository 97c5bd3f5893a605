"""Queue truth and the gate's state as gauges, read by the scheduler alone: one reading of Redis for the whole
fleet, rather than one per worker process that Prometheus would then have to de-duplicate."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from prometheus_client import Gauge

from scanfleet import metrics
from scanfleet.autoscale.policy import ScalingPolicy
from scanfleet.broker.breakers import breaker_gauges
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import BREAKER_PREFIX
from scanfleet.broker.keys import WORKERS as WORKERS_KEY
from scanfleet.broker.stats import QueueTruth, queue_truth, tier_totals
from scanfleet.config import Settings
from scanfleet.tiers import TIERS

BREAKER_KINDS = ("target", "postgres", "webhook")  # always exported, so a kind that never tripped reads 0


class Observer:
    """One round per call. Its state: the scaling policy's, and the labels it exported last round, so a tier
    or kind that disappears is removed rather than left at its last value (known ones read 0 instead)."""

    def __init__(
        self, gate: Gate, settings: Settings, workers_key: str = WORKERS_KEY, breaker_prefix: str = BREAKER_PREFIX,
        *, source: str = "policy", whole_fleet: bool = True,
    ) -> None:  # fmt: skip
        """One line's observer: its queue, its workers and the replicas they need (`source`). `whole_fleet`: this
        observer also exports the gate's tier totals and the breakers (the http line's does; the browser's not)."""
        self.gate = gate
        self.workers_key = workers_key
        self.breaker_prefix = breaker_prefix
        self.source = source
        self.whole_fleet = whole_fleet
        self.policy = ScalingPolicy.from_settings(settings)
        self._exported: dict[Gauge, set[str]] = {}
        self._desired: int | None = None

    async def round(self) -> QueueTruth:
        truth = await queue_truth(self.gate, self.workers_key)
        queue = self.gate.keys.queue
        for state, count in (("ready", truth.ready), ("running", truth.running), ("deferred", truth.deferred)):
            metrics.QUEUE_JOBS.labels(queue, state).set(count)
        metrics.QUEUE_OLDEST_READY_AGE.labels(queue).set(truth.oldest_ready_age_seconds)
        if self.whole_fleet:
            await self._fleet()
        else:
            metrics.BROWSER_WORKERS.set(truth.workers)
        # The fleet follows this answer (KEDA scales to it), so the policy steps from its last answer: counting
        # heartbeats instead would see a draining worker as still there and undo the step down it asked for.
        current = truth.workers if self._desired is None else self._desired
        self._desired = self.policy.decide(truth, current, time.monotonic())
        metrics.AUTOSCALE_DESIRED.labels(self.source).set(self._desired)
        return truth

    async def _fleet(self) -> None:
        tiers = await tier_totals(self.gate)
        self._export(metrics.GATE_RUNNING, {tier: t.running for tier, t in tiers.items()}, TIERS)
        self._export(metrics.GATE_QUEUED, {tier: t.queued for tier, t in tiers.items()}, TIERS)
        self._export(metrics.GATE_QUEUE_CAPACITY, {tier: t.capacity for tier, t in tiers.items()}, TIERS)

        breakers = await breaker_gauges(self.gate.redis, self.breaker_prefix)
        self._export(metrics.BREAKERS_OPEN, {kind: count for kind, (count, _) in breakers.items()}, BREAKER_KINDS)
        self._export(
            metrics.BREAKER_OPEN_LONGEST, {kind: longest for kind, (_, longest) in breakers.items()}, BREAKER_KINDS
        )

    def _export(self, gauge: Gauge, values: Mapping[str, float], always: Iterable[str]) -> None:
        current = {label: 0.0 for label in always} | dict(values)
        for gone in self._exported.get(gauge, set()) - current.keys():
            gauge.remove(gone)
        for label, value in current.items():
            gauge.labels(label).set(value)
        self._exported[gauge] = set(current)
