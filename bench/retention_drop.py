"""Retention under load: one old day of evidence detached and dropped while writes into today go on.

    python -m bench.retention_drop [--rows 2000000] [--writers 4] [--phase-seconds 5]

Starts an embedded PostgreSQL in a temporary directory and migrates a fresh database, then fills one old
day's evidence partition with --rows rows (server side, generate_series, in chunks) and checkpoints.
--writers tasks then insert evidence rows one at a time into today's partition (autocommit, as the worker's
small writes are) for --phase-seconds, keep going while retention runs, and --phase-seconds after.
Retention is the platform's own code: `retention.detach` (ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY)
and `retention.drop` (DROP TABLE) on the evidence partition, each timed, then `retention.drop_before` for
the same day of the other tables. Meanwhile pg_locks is sampled every few milliseconds: the locks the
retention connection holds, and any lock another session waits for.

Reports the time of each step, the locks seen, and the inserts' latency p50/p99/max before, during and
after. The goal: no insert waits a second or more (exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import asyncpg

from bench._report import percentile, table
from bench._servers import cancel_on_sigterm, scratch_postgres
from scanfleet.config import Settings
from scanfleet.db import partitions, retention
from scanfleet.db.pool import create_pool

Lock = tuple[str, str, str, bool]  # holder, relation, mode, granted

OLD_DAY = date(2020, 1, 1)
CHUNK = 250_000
FILL = """
INSERT INTO evidence (scan_created_at, scan_id, seq, org_id, kind, severity, title, details, location)
SELECT $1::timestamptz + (g % 86400) * interval '1 second', gen_random_uuid(), g, $2, 'cookie', 'low',
       'Cookie _ga_' || g, jsonb_build_object('name', '_ga_' || g, 'domain', 'shop.example.com', 'secure', true,
       'same_site', 'Lax', 'max_age', 31536000), 'https://shop.example.com/'
FROM generate_series($3::int, $4::int) g
"""
WRITE = (
    "INSERT INTO evidence (scan_created_at, scan_id, seq, org_id, kind, severity, title, details)"
    " VALUES (now(), gen_random_uuid(), 0, $1, 'cookie', 'low', 'Cookie', '{}')"
)
# Locks on the tables (not the catalogs) held by the retention connection ($1), or waited for by anyone.
LOCKS = """
SELECT l.pid = $1 AS retention, coalesce(c.relname, l.relation::text) AS relation, l.mode, l.granted
FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND coalesce(c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'pg_toast'::regnamespace), true)
  AND (l.pid = $1 OR NOT l.granted)
"""


async def fill(pool: asyncpg.Pool, rows: int) -> None:
    org = await pool.fetchval("INSERT INTO organisations (id, name) VALUES (gen_random_uuid(), 'bench') RETURNING id")
    await partitions.ensure_day(pool, OLD_DAY)
    start = datetime(OLD_DAY.year, OLD_DAY.month, OLD_DAY.day, tzinfo=UTC)
    for first in range(1, rows + 1, CHUNK):
        await pool.execute(FILL, start, org, first, min(first + CHUNK - 1, rows), timeout=600)
    await pool.execute("CHECKPOINT")  # an old day's pages were written out long ago


async def write_load(
    pool: asyncpg.Pool, org_id: object, stop: asyncio.Event, samples: list[tuple[float, float]]
) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await pool.execute(WRITE, org_id)
        samples.append((started, time.perf_counter() - started))


async def sample_locks(conn: asyncpg.Connection, pid: int, stop: asyncio.Event, seen: Counter[Lock]) -> None:
    while not stop.is_set():
        for row in await conn.fetch(LOCKS, pid):
            seen[("retention" if row["retention"] else "waiting", row["relation"], row["mode"], row["granted"])] += 1
        await asyncio.sleep(0.002)


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await step()
    return time.perf_counter() - started


async def run_retention(pool: asyncpg.Pool) -> list[tuple[str, float]]:
    part = retention.DayPartition("evidence", OLD_DAY, "attached")
    return [
        (f"detach {part.name} (CONCURRENTLY)", await timed(lambda: retention.detach(pool, part))),
        (f"drop {part.name}", await timed(lambda: retention.drop(pool, part))),
        ("detach + drop the day's scans, issues, scan_domains",
         await timed(lambda: retention.drop_before(pool, OLD_DAY + timedelta(days=1)))),
    ]  # fmt: skip


def latency_rows(samples: list[tuple[float, float]], during: tuple[float, float]) -> list[list[object]]:
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for started, seconds in samples:
        phase = "before" if started < during[0] else "during" if started <= during[1] else "after"
        phases[phase].append(seconds * 1000)
    return [
        [
            phase,
            len(values),
            *(f"{value:.2f}" for value in (percentile(values, 50), percentile(values, 99), max(values))),
        ]
        for phase, values in phases.items()
        if values
    ]


async def main(args: argparse.Namespace) -> int:
    cancel_on_sigterm()
    settings = Settings(_env_file=None, db_pool_max_size=args.writers)
    async with scratch_postgres("bench-retention-", settings) as (url, _):
        return await measure(args, settings, url)


async def measure(args: argparse.Namespace, settings: Settings, url: str) -> int:
    writers = await create_pool(settings, url)
    keeper = await create_pool(settings.model_copy(update={"db_pool_min_size": 1, "db_pool_max_size": 1}), url)
    sampler = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await fill(keeper, args.rows)
        size = await keeper.fetchval("SELECT pg_size_pretty(pg_total_relation_size($1))", f"evidence_{OLD_DAY:%Y%m%d}")
        print(f"filled evidence_{OLD_DAY:%Y%m%d}: {args.rows:,} rows, {size}, in {time.perf_counter() - started:.1f}s")
        org = await keeper.fetchval("SELECT id FROM organisations")
        pid = await keeper.fetchval("SELECT pg_backend_pid()")  # the retention pool's one connection

        stop_writes, stop_sampling = asyncio.Event(), asyncio.Event()
        samples: list[tuple[float, float]] = []
        locks: Counter[Lock] = Counter()
        load = [asyncio.create_task(write_load(writers, org, stop_writes, samples)) for _ in range(args.writers)]
        await asyncio.sleep(args.phase_seconds)
        sampling = asyncio.create_task(sample_locks(sampler, pid, stop_sampling, locks))
        began = time.perf_counter()
        steps = await run_retention(keeper)
        during = (began, time.perf_counter())
        stop_sampling.set()
        await sampling
        await asyncio.sleep(args.phase_seconds)
        stop_writes.set()
        await asyncio.gather(*load)
    finally:
        await sampler.close()
        await keeper.close()
        await writers.close()

    print(f"\n{args.writers} writers inserting into today's evidence partition throughout\n")
    print(table(["step", "seconds"], [[name, f"{seconds:.3f}"] for name, seconds in steps]))
    print(f"\nlocks seen in {sum(locks.values())} samples (retention's, and any lock another session waited for)\n")
    lock_rows = [[who, rel, mode, granted, count] for (who, rel, mode, granted), count in sorted(locks.items())]
    print(table(["holder", "relation", "mode", "granted", "samples"], lock_rows or [["-", "-", "-", "-", 0]]))
    waited = sum(count for (who, *_), count in locks.items() if who == "waiting")
    print(f"samples with a session waiting for a lock: {waited}")
    print("\ninsert latency (ms)\n")
    print(table(["phase", "inserts", "p50", "p99", "max"], latency_rows(samples, during)))
    worst = max(seconds for _, seconds in samples)
    verdict = "ok" if worst < 1.0 else "FAILED"
    print(f"\nlongest insert wait {worst * 1000:.1f} ms (goal: under 1 s): {verdict}")
    return 0 if worst < 1.0 else 1


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows in the old day's evidence partition")
    parser.add_argument("--writers", type=int, default=4, help="concurrent insert loops into today")
    parser.add_argument("--phase-seconds", type=float, default=5.0, help="load before and after retention")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
