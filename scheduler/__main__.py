"""`python -m scheduler`: run upkeep rounds until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from prometheus_client import start_http_server

from scanfleet import jobs
from scanfleet.config import Settings, get_settings
from scanfleet.db.pool import create_pool
from scanfleet.logs import configure_logging
from scheduler import upkeep

log = logging.getLogger("scheduler")


async def run(settings: Settings, stop: asyncio.Event) -> None:
    pool = await create_pool(settings)
    queue = await jobs.connect(settings)
    try:
        while not stop.is_set():
            try:
                await upkeep.make_partitions(pool, settings)
                await upkeep.redispatch_stranded(pool, queue, settings)
            except Exception:
                # A round that fails (database restarting, say) is retried next round, not fatal.
                log.exception("upkeep round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.scheduler_interval_seconds)
    finally:
        await queue.aclose()
        await pool.close()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.scheduler_metrics_port:
        start_http_server(settings.scheduler_metrics_port, addr=settings.metrics_host)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("scheduler starting")
        await run(settings, stop)
        log.info("scheduler stopped")

    asyncio.run(serve())


if __name__ == "__main__":
    main()
