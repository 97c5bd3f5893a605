"""`python -m scanfleet.scheduler`: the lease reaper and the upkeep rounds, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from scanfleet import tracing
from scanfleet.artifacts import open_store
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import BROWSER_GATE, BROWSER_WORKERS
from scanfleet.broker.worker import REDIS_DOWN
from scanfleet.config import Settings, get_settings
from scanfleet.db import scans
from scanfleet.db.errors import unavailable
from scanfleet.db.pool import create_pool
from scanfleet.db.store import PgJobStore
from scanfleet.lifecycle import Lifecycle
from scanfleet.liveness import LoopWatch, serve_metrics
from scanfleet.logs import configure_logging
from scanfleet.model import Engine
from scanfleet.scheduler import (
    artifacts,
    erase,
    firing,
    heartbeats,
    observe,
    partitions,
    reaper,
    reconcile,
    retention,
    webhooks,
)

log = logging.getLogger("scheduler")


async def every(interval: float, stop: asyncio.Event, name: str, round_: Callable[[], Awaitable[object]]) -> None:
    while not stop.is_set():
        try:
            await round_()
        except Exception as exc:
            # A failed round is retried next time, not fatal. A server restarting is expected: one line, no trace.
            if unavailable(exc) or isinstance(exc, REDIS_DOWN):
                log.warning("%s round skipped: %s unavailable (%s)", name, _server_of(exc), exc)
            else:
                log.exception("%s round failed", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def _server_of(exc: BaseException) -> str:
    return "PostgreSQL" if unavailable(exc) else "Redis"


async def run(settings: Settings, stop: asyncio.Event) -> None:
    pool = await create_pool(settings)
    redis = await connection.connect(settings)
    gate, browser_gate = Gate(redis), Gate(redis, BROWSER_GATE)
    gates: dict[Engine, Gate] = {"http": gate, "browser": browser_gate}
    lifecycle = Lifecycle(
        PgJobStore(pool), gate, settings.lease_seconds, unreachable=REDIS_DOWN, browser_gate=browser_gate
    )
    observer = observe.Observer(gate, settings)
    browser_observer = observe.Observer(
        browser_gate, settings, BROWSER_WORKERS, source="browser_policy", whole_fleet=False
    )
    deliverer = webhooks.deliverer_for(settings, pool, redis)
    store = await open_store(settings)

    async def upkeep_round() -> None:
        await partitions.make_partitions(pool, settings)
        await partitions.export_horizon(pool)
        await reconcile.reconcile(lifecycle, gates, settings)
        await retention.purge(pool, settings)
        await webhooks.purge(pool, settings.webhook_keep_seconds)
        await firing.export_gauges(pool)

    try:
        await asyncio.gather(
            # The reaper runs often: a dead worker's job should run again within seconds of its lease.
            every(settings.reaper_interval_seconds, stop, "reaper", lambda: reaper.reap(*gates.values())),
            every(
                settings.reaper_interval_seconds, stop, "deferred", lambda: reaper.bring_back_deferred(*gates.values())
            ),
            every(settings.reaper_interval_seconds, stop, "observe", observer.round),
            every(settings.reaper_interval_seconds, stop, "observe browser", browser_observer.round),
            every(
                settings.reaper_interval_seconds,
                stop,
                "heartbeats",
                lambda: heartbeats.heartbeat_deadlines(pool, lifecycle),
            ),
            every(settings.schedule_tick_seconds, stop, "schedules", lambda: firing.fire_due(pool, lifecycle)),
            every(settings.webhook_interval_seconds, stop, "webhooks", lambda: webhooks.deliver(deliverer)),
            every(settings.scheduler_interval_seconds, stop, "upkeep", upkeep_round),
            every(settings.scheduler_interval_seconds, stop, "statistics", lambda: partitions.analyze_filling(pool)),
            every(settings.scheduler_interval_seconds, stop, "open bound", lambda: scans.bound_open(pool)),
            every(
                settings.scheduler_interval_seconds, stop, "retention", lambda: retention.drop_expired(pool, settings)
            ),
            every(settings.scheduler_interval_seconds, stop, "erase", lambda: erase.erase_round(pool, store, settings)),
            every(
                settings.artifact_sweep_seconds,
                stop,
                "artifact sweep",
                lambda: artifacts.sweep_round(pool, store, settings),
            ),
        )
    finally:
        await store.close()
        await deliverer.aclose()
        await redis.aclose()
        await pool.close()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    tracing.configure(settings.otel_endpoint, "scanfleet-scheduler")
    watch = LoopWatch(settings.loop_stall_seconds)
    if settings.scheduler_metrics_port:
        serve_metrics(settings.scheduler_metrics_port, settings.metrics_host, watch)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("scheduler starting")
        async with watch.beating():
            await run(settings, stop)
        log.info("scheduler stopped")

    asyncio.run(serve())


if __name__ == "__main__":
    main()
