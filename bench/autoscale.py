"""Autoscaling under a flood: how soon `scanfleet worker --autoscale MIN:MAX` reaches MAX replicas and comes back
to MIN, beside a fleet fixed at MAX replicas running the same flood.

    python -m bench.autoscale [--jobs 300] [--min 1] [--max 4] [--page-seconds 0.3] [--max-jobs 4]
                              [--interval 0.5] [--cooldown 5] [--jobs-per-replica 10] [--step-up 2]

Starts an embedded PostgreSQL and Valkey in a temporary directory and serves one slow page (answering after
--page-seconds) from a FixtureSite on 127.0.0.1. Each system is the real supervisor process with real workers,
on its own Redis database: `autoscaled` with MIN:MAX, `fixed` with MAX:MAX. Once its first workers have
registered, --jobs scans are recorded and admitted at once (one organisation whose limits let them all into
arq's queue), and the supervisor's own scanfleet_autoscale_replicas is polled every 50 ms.

Columns: "to max s" from the flood's first submission to MAX replicas started (the fixed fleet starts there);
"done s" to the last scan final; "to min s" from that moment back to MIN replicas (every worker above MIN drained
and exited: at least --cooldown per step down); "replica·s" is replicas summed over time from the flood until the
autoscaled fleet is back at MIN, the fixed fleet counted over the same span. The autoscaled fleet's new workers
start cold during the flood, the fixed fleet's are warm before it. Worker processes share this machine's cores
with everything else, so a large MAX gains less than MAX times.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg

from bench._report import table
from bench._servers import cancel_on_sigterm, postgres_and_valkey
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.stats import queue_truth
from scanfleet.config import Settings
from scanfleet.db.pool import create_pool
from tests.support.fleet import Supervisor, fleet_env, flood, flood_org, unfinished
from tests.support.site import FixtureSite, Page, eventually

POLL_SECONDS = 0.05


@dataclass
class Run:
    system: str
    bounds: str
    to_max: float | None = None
    done: float = 0.0
    to_min: float | None = None
    replica_seconds: float = 0.0
    failed: int = 0

    def row(self) -> list[object]:
        def cell(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        times = [cell(self.to_max), cell(self.done), cell(self.to_min)]
        return [self.system, self.bounds, *times, f"{self.replica_seconds:.0f}", self.failed]


async def measure(
    args: argparse.Namespace, settings: Settings, pool: asyncpg.Pool, system: str, bounds: str, database: int
) -> Run:
    low, high = (int(part) for part in bounds.split(":"))
    redis_url = f"{str(settings.redis_url).rsplit('/', 1)[0]}/{database}"
    policy = {
        "worker_max_jobs": args.max_jobs,
        "worker_poll_delay_seconds": 0.01,
        "autoscale_interval_seconds": args.interval,
        "autoscale_cooldown_seconds": args.cooldown,
        "autoscale_jobs_per_replica": args.jobs_per_replica,
        "autoscale_step_up": args.step_up,
        "autoscale_step_down": 1,
        "autoscale_target_wait_seconds": 2,
        "log_level": "WARNING",
    }
    redis = await connection.connect(settings.model_copy(update={"redis_url": redis_url}))
    await redis.flushdb()
    gate = Gate(redis)
    env = fleet_env(str(settings.database_url), redis_url, policy)
    supervisor = Supervisor(env, bounds, args.logs / f"{system}.log")
    run = Run(system, bounds)

    async def warm() -> bool:
        return (await queue_truth(gate)).workers >= low  # its first workers have registered

    try:
        await eventually(warm, timeout=60)
        org = await flood_org(pool, args.jobs)
        page = Page(200, [("Content-Type", "text/html")], b"<html/>", args.page_seconds)
        url = args.site.add(f"/slow-{uuid.uuid4().hex[:6]}", page)
        started = time.monotonic()
        submitting = asyncio.ensure_future(flood(pool, gate, org, url, args.jobs))
        ids: list[uuid.UUID] | None = None
        last = started
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = time.monotonic()
            replicas = await supervisor.replicas() or 0
            run.replica_seconds += replicas * (now - last)
            last = now
            if run.to_max is None and replicas == high and low < high:
                run.to_max = now - started
            if ids is None and submitting.done():
                ids = submitting.result()
            if ids is not None and not run.done and await unfinished(pool, ids) == 0:
                run.done = now - started
                if low == high:
                    break
            if run.done and replicas == low:
                run.to_min = now - started - run.done
                break
        statuses = await pool.fetch("SELECT status FROM scans WHERE org_id = $1 AND status <> 'succeeded'", org.id)
        run.failed = len(statuses)
        await supervisor.stop()
        return run
    finally:
        await supervisor.close()
        await redis.flushdb()
        await redis.aclose()


def report(runs: list[Run], args: argparse.Namespace) -> None:
    print(
        f"{args.jobs} scans of a page answering after {args.page_seconds}s; {args.max_jobs} jobs per worker; "
        f"policy every {args.interval}s, {args.jobs_per_replica} jobs per replica, step up {args.step_up}, "
        f"cooldown {args.cooldown}s"
    )
    autoscaled, fixed = runs
    # The fixed fleet holds MAX replicas for as long as the autoscaled one took to come back to MIN.
    span = autoscaled.done + (autoscaled.to_min or 0)
    fixed.replica_seconds = int(fixed.bounds.split(":")[1]) * span
    print(table(["system", "bounds", "to max s", "done s", "to min s", "replica·s", "failed"], [r.row() for r in runs]))
    print(
        f"\nautoscaled finished the flood in {autoscaled.done / fixed.done:.2f}x the fixed fleet's time, "
        f"using {autoscaled.replica_seconds / fixed.replica_seconds:.2f}x its replica·seconds"
    )


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    base = Settings(db_pool_max_size=4, worker_metrics_port=0)
    async with postgres_and_valkey("bench-autoscale-", base) as (settings, args.logs):
        pool = await create_pool(settings)
        try:
            with FixtureSite() as args.site:
                runs = [
                    await measure(args, settings, pool, "autoscaled", f"{args.min}:{args.max}", 1),
                    await measure(args, settings, pool, "fixed", f"{args.max}:{args.max}", 2),
                ]
        finally:
            await pool.close()
        report(runs, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300, help="scans in the flood")
    parser.add_argument("--min", type=int, default=1)
    parser.add_argument("--max", type=int, default=4)
    parser.add_argument("--page-seconds", type=float, default=0.3, help="how long the target page takes to answer")
    parser.add_argument("--max-jobs", type=int, default=4, help="jobs one worker runs at once")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between the supervisor's decisions")
    parser.add_argument("--cooldown", type=float, default=5.0, help="calm seconds before each step down")
    parser.add_argument("--jobs-per-replica", type=int, default=10)
    parser.add_argument("--step-up", type=int, default=2)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
