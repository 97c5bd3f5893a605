"""`scanfleet worker --autoscale MIN:MAX`: worker processes scaled by the policy from the queue's truth.

Every `autoscale_interval_seconds` the supervisor reads the queue, asks the policy for a replica count and starts
or drains workers to match. A worker leaving is sent SIGTERM (it stops taking jobs, finishes or hands back what it
runs) and counts as a replica until it has exited; the newest leaves first. A worker that dies unasked is replaced.
SIGTERM or SIGINT to the supervisor drains them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from scanfleet import metrics
from scanfleet.autoscale.policy import ScalingPolicy
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.stats import queue_truth
from scanfleet.config import Settings
from scanfleet.liveness import LoopWatch, serve_metrics_or_move
from scanfleet.supervisor import Child

log = logging.getLogger("scanfleet.autoscale")

# Past the worker's own grace, time for it to hand back what it still runs and close its connections.
EXIT_SLACK_SECONDS = 10.0


@dataclass
class Fleet:
    """Worker processes by index (each index its own metrics port). `active` take jobs; `leaving` drain."""

    env: dict[str, str]
    stop_seconds: float  # SIGTERM to SIGKILL
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "scanfleet.worker"])
    active: list[Child] = field(default_factory=list)  # in start order: the newest is last
    leaving: dict[asyncio.Task[None], Child] = field(default_factory=dict)

    @property
    def replicas(self) -> int:
        return len(self.active) + len(self.leaving)

    async def scale_to(self, desired: int) -> None:
        while len(self.active) < desired:
            await self._start(self._free_index())
        while len(self.active) > desired:
            self._drain(self.active.pop())

    def reap(self) -> None:
        """Forget workers that exited: drained ones are gone, others died and leave a gap to refill."""
        for task in [task for task in self.leaving if task.done()]:
            child = self.leaving.pop(task)
            log.info("%s drained and exited", child.name)
        for child in [child for child in self.active if _exited(child)]:
            self.active.remove(child)
            log.error("%s exited unexpectedly with %s; replacing it", child.name, _returncode(child))

    async def drain_all(self) -> None:
        while self.active:
            self._drain(self.active.pop())
        if self.leaving:
            await asyncio.wait(list(self.leaving))
        self.reap()

    async def _start(self, index: int) -> None:
        child = Child(f"worker-{index}", self.command, {**self.env, "SCANFLEET_WORKER_INDEX": str(index)})
        await child.start()
        self.active.append(child)

    def _drain(self, child: Child) -> None:
        log.info("draining %s", child.name)
        self.leaving[asyncio.ensure_future(child.stop(self.stop_seconds))] = child

    def _free_index(self) -> int:
        # A leaving worker still holds its metrics port until it exits: the next one takes another index.
        taken = {int(child.env["SCANFLEET_WORKER_INDEX"]) for child in [*self.active, *self.leaving.values()]}
        return next(index for index in range(len(taken) + 1) if index not in taken)


def _returncode(child: Child) -> int | None:
    return child.process.returncode if child.process else None


def _exited(child: Child) -> bool:
    return _returncode(child) is not None


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of each worker: this one's, with the servers (and the allow-list, which a running `up`
    may add to) this supervisor resolved."""
    return {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SCANFLEET_FETCH_ALLOW_NETWORKS": ",".join(map(str, settings.fetch_allow_networks)),
    }


async def run(settings: Settings, policy: ScalingPolicy, metrics_port: int) -> int:
    """Supervise workers between the policy's bounds until SIGTERM or SIGINT; 0 when they all drained."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = LoopWatch(settings.loop_stall_seconds)
    if metrics_port:
        serve_metrics_or_move(metrics_port, settings.metrics_host, watch)
    async with watch.beating():
        return await _supervise(settings, policy, stop)


async def _supervise(settings: Settings, policy: ScalingPolicy, stop: asyncio.Event) -> int:
    redis = await connection.connect(settings)
    gate = Gate(redis)
    fleet = Fleet(worker_env(settings), settings.worker_grace_seconds + EXIT_SLACK_SECONDS)
    desired = policy.min_replicas
    log.info("autoscaling workers %s..%s", policy.min_replicas, policy.max_replicas)
    try:
        while not stop.is_set():
            fleet.reap()
            try:
                truth = await queue_truth(gate)
            except RedisError as error:
                # Without the queue's truth, hold the last decision rather than guess (dead workers still refilled).
                log.warning("queue truth unavailable (%s); keeping %s replicas", error, desired)
            else:
                # The policy sizes the fleet the supervisor keeps, not what is alive this instant: a worker that
                # died is refilled below rather than taken for a scale-down.
                decided = policy.decide(truth, desired, time.monotonic())
                if decided != desired:
                    log.info("replicas %s -> %s (%s)", desired, decided, truth)
                desired = decided
            metrics.AUTOSCALE_DESIRED.labels(source="supervisor").set(desired)
            await fleet.scale_to(desired)
            metrics.AUTOSCALE_REPLICAS.set(fleet.replicas)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.autoscale_interval_seconds)
        log.info("stopping: draining %s workers", fleet.replicas)
        return 0
    finally:
        await fleet.drain_all()
        metrics.AUTOSCALE_REPLICAS.set(0)
        await redis.aclose()
