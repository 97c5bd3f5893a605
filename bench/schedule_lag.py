"""Scheduling lag with many active schedules: 10,000 schedules due across one minute.

The scheduler's own round (scheduler.firing.fire_due: claim with SKIP LOCKED, make the job, record the fire,
admit through the capacity gate) runs every --tick seconds, as in production, with one or two rounds racing
(two scheduler replicas). Lag is fired_at − planned_at from the fire records; the tick itself is the floor
(a fire planned just after a round waits for the next one), so read p50 against tick/2.

    python -m bench.schedule_lag [--schedules 10000] [--window 60] [--tick 1.0] [--replicas 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench._gate import valkey
from bench._report import arguments, comma_list, percentile, table
from bench._servers import cancel_on_sigterm, scratch_postgres
from scanfleet import ids
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.config import Settings
from scanfleet.db import orgs
from scanfleet.db.pool import create_pool
from scanfleet.scheduler import firing
from scanfleet.tiers import limits_for
from tests.support.app import lifecycle


async def one_run(
    database_url: str, redis_url: str, count: int, window: float, tick: float, replicas: int
) -> list[object]:
    settings = Settings(database_url=database_url, redis_url=redis_url, db_pool_max_size=4 * replicas)
    pool = await create_pool(settings)
    redis = await connection.connect(settings)
    try:
        await redis.flushdb()
        await pool.execute("TRUNCATE schedules, schedule_fires, scans")
        org = await orgs.create(pool, f"bench-{uuid.uuid4().hex[:6]}", "enterprise")
        # Room for every fire: the gate must not refuse what the benchmark measures.
        await orgs.set_capacity(pool, org.id, "enterprise", count, count)
        await Gate(redis).set_limits(org.id, limits_for("enterprise", count, count))
        start = datetime.now(UTC) + timedelta(seconds=2)
        rows = [
            (ids.new_id(), org.id, f"s{n}", "privacy", {"url": f"http://127.0.0.1:9/{n}"}, None, "UTC", 3600, 0,
             start + timedelta(seconds=window * n / count))
            for n in range(count)
        ]  # fmt: skip
        await pool.copy_records_to_table(
            "schedules", records=rows,
            columns=("id", "org_id", "name", "kind", "target", "cron", "timezone", "interval_seconds",
                     "jitter_seconds", "next_fire_at"),
        )  # fmt: skip
        gate = Gate(redis)
        deadline = time.monotonic() + window + 2 + 30

        async def scheduler() -> None:
            while time.monotonic() < deadline:
                await firing.fire_due(pool, lifecycle(pool, gate))
                if await pool.fetchval("SELECT count(*) FROM schedule_fires") >= count:
                    return
                await asyncio.sleep(tick)

        await asyncio.gather(*(scheduler() for _ in range(replicas)))
        lags = [row["lag"] for row in await pool.fetch(
            "SELECT extract(epoch FROM fired_at - planned_at) * 1000 AS lag FROM schedule_fires")]  # fmt: skip
        made = await pool.fetchval("SELECT count(*) FROM scans")
        return [replicas, count, len(lags), made, f"{percentile(lags, 50):.0f}", f"{percentile(lags, 99):.0f}",
                f"{max(lags):.0f}"]  # fmt: skip
    finally:
        await redis.aclose()
        await pool.close()


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    with valkey() as (redis_url, _):
        async with scratch_postgres("bench-schedules-", Settings()) as (database_url, _):
            rows = [await one_run(database_url, redis_url, args.schedules, args.window, args.tick, replicas)
                    for replicas in args.replicas]  # fmt: skip
    print(f"{args.schedules:,} schedules due across {args.window:g} s; rounds every {args.tick:g} s\n")
    print(table(["schedulers", "schedules", "fires", "jobs", "lag p50 ms", "lag p99 ms", "lag max ms"], rows))


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the fires are spread over")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between a scheduler's rounds")
    parser.add_argument("--replicas", type=comma_list(int), default=[1, 2])
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
