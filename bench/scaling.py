"""Scaling: what one job costs as the scans and evidence tables and the organisations grow.

    python -m bench.scaling [--steps 1000:10,10000:100,100000:1000,1000000:10000] [--scans 20] [--repeat 30]

Starts an embedded PostgreSQL and Valkey, the API in this process (httpx.ASGITransport) and one worker in
this process. At each step (ROWS:ORGS) it first bulk-loads, in SQL (generate_series), up to ROWS finished
scans spread over the last 30 days (30 day partitions), one evidence row and one domain row each, and up
to ORGS organisations; a tenth of the rows are the measured organisation's own history (its list, its
URLs, all its domain rows naming one tracker, so that each page the reads ask for is as full at the
first step as at the last), the rest spread over the others. ANALYZE follows, as autovacuum would. Then:

  scan e2e      `--scans` scans of a page on loopback, one at a time: POST /v1/scans → its row finished
                (the scan's created_at → finished_at, PostgreSQL's clock): the whole path per job.
  key queries   each API read a job's client makes, `--repeat` times, alternating with GET /healthz
                through the same API (the baseline: the same request path without the data): the read's
                median over /healthz's. The scan, the organisation's list, the scan's evidence, the stats,
                a domain's scans, and a resubmission of a URL the organisation scanned before (the
                submission's reuse lookups).

Read each column down: flat (goal: within 1.5× of the first step) means the job's cost does not grow with
the data. The last columns give each figure at the last step over the first. Fails (exit 1) if a scan does
not succeed or a step did not load what it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import asyncpg
import httpx

from bench._report import arguments, comma_list, table
from bench._servers import bench_api, cancel_on_sigterm, postgres_and_valkey
from scanfleet.config import Settings
from scanfleet.db.partitions import ensure_day
from scanfleet.db.pool import create_pool
from tests.support.app import running_worker
from tests.support.site import FixtureSite, html

DAYS = 30
OWN_SHARE = 10  # one row in this many is the measured organisation's
CHUNK = 50_000  # rows loaded per transaction
LOAD_SECONDS = 900.0  # a loading statement's time limit (the pool's is for the platform's own statements)
PAGE = html(
    "<html><head><title>Shop</title><script src='https://www.googletagmanager.com/gtm.js?id=GTM-1'></script>"
    "</head><body><img src='https://connect.facebook.net/tr?id=1'></body></html>",
    ("Set-Cookie", "session=abc; Path=/"),
)

_ORGS = """
INSERT INTO organisations (id, name, tier)
SELECT gen_random_uuid(), 'filler-' || g, 'pro' FROM generate_series($1::int + 1, $2::int) AS g
"""
# Finished scans with time-ordered ids over the last DAYS days; every OWN_SHAREth is the measured org's.
_SCANS = """
WITH fillers AS (SELECT array_agg(id) AS ids FROM organisations WHERE name LIKE 'filler-%'),
made AS (
    SELECT g, uuidv7(-(random() * make_interval(days => $4::int))) AS id FROM generate_series($1::int + 1, $2::int) AS g
), inserted AS (
INSERT INTO scans (id, created_at, org_id, url, status, attempts, started_at, finished_at, final_url, http_status,
                   summary)
SELECT made.id, uuid_extract_timestamp(made.id),
       CASE WHEN made.g % $5::int = 0 THEN $3::uuid ELSE fillers.ids[1 + made.g % cardinality(fillers.ids)] END,
       'https://site-' || made.g || '.example/', 'succeeded', 1, uuid_extract_timestamp(made.id),
       uuid_extract_timestamp(made.id) + interval '1 second', 'https://site-' || made.g || '.example/', 200,
       '{"evidence": 1, "issues": {"info": 0, "low": 0, "medium": 0, "high": 0, "critical": 0}}'
FROM made, fillers
RETURNING id, created_at, org_id
)
INSERT INTO loaded SELECT * FROM inserted
"""
_LOADED = "CREATE TEMP TABLE IF NOT EXISTS loaded (id uuid, created_at timestamptz, org_id uuid)"
_EVIDENCE = """
INSERT INTO evidence (scan_created_at, scan_id, seq, org_id, kind, severity, title, details, location)
SELECT created_at, id, 0, org_id, 'cookie', 'low', 'Cookie _ga for site.example',
       '{"name": "_ga", "domain": "site.example", "secure": true, "http_only": false}', 'https://site.example/'
FROM loaded
"""
_DOMAINS = """
INSERT INTO scan_domains (scan_created_at, org_id, domain, scan_id, tracker, vendor)
SELECT created_at, org_id,
       CASE WHEN org_id = $1::uuid THEN 'tracker.example'
            ELSE 'tracker-' || (abs(hashtext(id::text)) % 500) || '.example' END,
       id, true, 'Vendor'
FROM loaded
"""


async def grow(pool: asyncpg.Pool, org_id: uuid.UUID, have: tuple[int, int], want: tuple[int, int]) -> None:
    """From `have` to `want` (scans = evidence rows = domain rows, filler organisations), then ANALYZE."""
    async with pool.acquire() as conn:
        if want[1] > have[1]:
            await conn.execute(_ORGS, have[1], want[1], timeout=LOAD_SECONDS)
        for start in range(have[0], want[0], CHUNK):  # each chunk a statement of bounded time
            async with conn.transaction():
                await conn.execute(_LOADED)
                await conn.execute("TRUNCATE loaded")
                end = min(start + CHUNK, want[0])
                await conn.execute(_SCANS, start, end, org_id, DAYS - 1, OWN_SHARE, timeout=LOAD_SECONDS)
                await conn.execute(_EVIDENCE, timeout=LOAD_SECONDS)
                await conn.execute(_DOMAINS, org_id, timeout=LOAD_SECONDS)
        await conn.execute("ANALYZE organisations, scans, evidence, scan_domains", timeout=LOAD_SECONDS)
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM scans) AS scans, (SELECT count(*) FROM evidence) AS evidence,"
            " (SELECT count(*) FROM organisations) AS orgs",
            timeout=LOAD_SECONDS,
        )
    assert counts is not None  # an aggregate: always one row
    if counts["scans"] < want[0] or counts["evidence"] < want[0] or counts["orgs"] < want[1]:
        raise RuntimeError(f"the step did not load what it reports: {dict(counts)}")


async def median_ms(repeat: int, call: Callable[[], Awaitable[httpx.Response]], api: httpx.AsyncClient) -> float:
    """The call's median ms over the median ms of GET /healthz through the same API, the two alternating: the
    share of the call's cost the data can change, with the machine's own load (other processes) divided out."""
    took: list[float] = []
    reference: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        await api.get("/healthz")
        middle = time.perf_counter()
        response = await call()
        took.append(time.perf_counter() - middle)
        reference.append(middle - started)
        if response.status_code >= 300:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:200]}")
    return statistics.median(took) / statistics.median(reference)


async def scan_e2e(api: httpx.AsyncClient, pool: asyncpg.Pool, site: FixtureSite, count: int) -> float:
    """Median seconds from a scan's creation to its finish, `count` scans one at a time."""
    took: list[float] = []
    for _ in range(count):
        url = site.add(f"/scaling-{uuid.uuid4().hex[:10]}", PAGE)
        response = await api.post("/v1/scans", json={"url": url})
        if response.status_code != 202:
            raise RuntimeError(f"submission: {response.status_code} {response.text[:200]}")
        scan_id = uuid.UUID(response.json()["id"])
        deadline = time.monotonic() + 30
        while (row := await pool.fetchrow(_FINISHED, scan_id)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"scan {scan_id} did not finish within 30 s")
            await asyncio.sleep(0.002)
        if row["status"] != "succeeded":
            raise RuntimeError(f"scan {scan_id} ended {row['status']}")
        took.append(row["seconds"])
    return statistics.median(took) * 1000


_FINISHED = (
    "SELECT status, extract(epoch FROM finished_at - created_at)::float8 AS seconds FROM scans"
    " WHERE id = $1 AND finished_at IS NOT NULL"
)


async def key_queries(api: httpx.AsyncClient, pool: asyncpg.Pool, org_id: uuid.UUID, repeat: int) -> list[float]:
    """Each API read (QUERIES' order) on the organisation's own history, as a multiple of GET /healthz."""
    old = await pool.fetchrow(
        "SELECT id, url FROM scans WHERE org_id = $1 AND created_at < now() - interval '1 day' ORDER BY id LIMIT 1",
        org_id,
    )
    if old is None:
        raise RuntimeError("the organisation has no scan older than a day to read")
    today = datetime.now(UTC).date()
    recent_url = await _recent_url(pool, org_id)
    calls: list[Callable[[], Awaitable[httpx.Response]]] = [
        lambda: api.get(f"/v1/scans/{old['id']}"),
        lambda: api.get("/v1/scans", params={"limit": 50}),
        lambda: api.get(f"/v1/scans/{old['id']}/evidence"),
        lambda: api.get("/v1/stats", params={"from": str(today - timedelta(days=DAYS)), "to": str(today)}),
        lambda: api.get("/v1/domains/tracker.example/scans", params={"limit": 50}),
        lambda: api.post("/v1/scans", json={"url": recent_url}),
    ]
    return [await median_ms(repeat, call, api) for call in calls]


async def _recent_url(pool: asyncpg.Pool, org_id: uuid.UUID) -> str:
    """A URL the organisation scanned and finished a moment ago: its resubmission is answered by reuse."""
    latest = "SELECT url FROM scans WHERE org_id = $1 AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1"
    return str(await pool.fetchval(latest, org_id))


QUERIES = ["GET scan", "list scans", "evidence", "stats", "domain", "resubmit"]


async def main(args: argparse.Namespace) -> int:
    cancel_on_sigterm()
    base = Settings(
        db_pool_max_size=10, worker_metrics_port=0, fetch_allow_networks=[ip_network("127.0.0.0/8")],
        worker_poll_delay_seconds=0.01,
    )  # fmt: skip
    rows: list[list[str]] = []
    figures: list[list[float]] = []
    async with postgres_and_valkey("bench-scaling-", base, persist=False) as (settings, _logs):
        pool = await create_pool(settings)
        try:
            today = datetime.now(UTC).date()
            for back in range(DAYS):
                await ensure_day(pool, today - timedelta(days=back))
            with FixtureSite() as site:
                async with bench_api(settings, pool, "enterprise") as (api, org_id), running_worker(settings):
                    await scan_e2e(api, pool, site, 3)  # warm-up: connections, statements, scripts
                    have = (0, 1)  # the measured organisation exists
                    for want in args.steps:
                        started = time.monotonic()
                        await grow(pool, org_id, have, want)
                        loaded = time.monotonic() - started
                        have = (max(want[0], have[0]), max(want[1], have[1]))
                        e2e = await scan_e2e(api, pool, site, args.scans)
                        reads = await key_queries(api, pool, org_id, args.repeat)
                        figures.append([e2e, *reads])
                        rows.append(
                            [f"{have[0]:,}", f"{have[1]:,}", f"{loaded:.0f}", f"{e2e:.1f}"]
                            + [f"{x:.2f}" for x in reads]
                        )
                        print(f"  done: {have[0]:,} rows, {have[1]:,} orgs: {rows[-1][2:]}", flush=True)
        except RuntimeError as exc:
            print(f"bench.scaling: {exc}", file=sys.stderr)
            return 1
        finally:
            await pool.close()
    growth = [last / first for first, last in zip(figures[0], figures[-1], strict=True)]
    rows.append(["last / first", "", ""] + [f"{x:.2f}×" for x in growth])
    print(
        f"\nper step: {args.scans} scans one at a time (scan e2e: median ms, created → finished) and each read "
        f"{args.repeat} times through the in-process API, alternating with GET /healthz (median of the read over "
        "median of /healthz: the machine's load divided out); rows = scans = evidence = domain rows\n"
    )
    print(table(["scans rows", "orgs", "load s", "scan e2e", *QUERIES], rows))
    flat = all(x <= 1.5 for x in growth)
    print(f"\nevery figure within 1.5× of the first step: {'yes' if flat else 'no'}")
    return 0


def _step(text: str) -> tuple[int, int]:
    rows, orgs = text.split(":")
    return int(rows), int(orgs)


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument(
        "--steps", type=comma_list(_step), default=[(1000, 10), (10_000, 100), (100_000, 1000), (1_000_000, 10_000)],
        help="ROWS:ORGS sizes, growing (default 1000:10,10000:100,100000:1000,1000000:10000)",
    )  # fmt: skip
    parser.add_argument("--scans", type=int, default=20, help="scans per step, one at a time (default 20)")
    parser.add_argument("--repeat", type=int, default=30, help="calls per read per step (default 30)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
