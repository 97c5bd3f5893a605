"""End-to-end privacy scans per second with N worker processes against a local fixture site.

    python -m bench.e2e_scans [--workers 1,2] [--scans 600] [--max-jobs 20] [--rate 0]

Starts an embedded PostgreSQL and Valkey in a temporary directory, migrates a fresh database, serves one
realistic shop page (≈45 KB of HTML referencing 16 third-party hosts, 3 Set-Cookie headers and security
headers) from a FixtureSite on 127.0.0.1, and runs the API in this process through httpx.ASGITransport
(no HTTP server or socket between this script and the API; everything after the API is real).

For each N it runs two systems, each with N real worker processes, on the same page and the same M jobs:

  scanfleet  M scans submitted through POST /v1/scans (row insert + the capacity gate's admission, each of
             the page under its own query string, for one enterprise organisation whose limits let every
             scan straight on to arq's queue), run by `python -m scanfleet.worker` processes (claim, guarded fetch,
             privacy analysis, evidence COPY + status in PostgreSQL).
             Done = `finished_at` set in the scans table; latency = created_at → finished_at.
  baseline   M jobs enqueued straight into arq, run by plain arq workers whose task only GETs the same
             page with a bare httpx client (no analysis, no database). Latency = arq enqueue → finish.

Both kinds of worker get the same max_jobs and poll delay, and a few untimed warm-up jobs first. Workers
are stopped (SIGTERM) after each run, also on errors.

Reading the table: "wall s" runs from the first submission to the last finish; scans/s = M / wall.
"submit s" is how long this script took to submit the M jobs: when it nears "wall s", submission (the
in-process API, sharing the CPUs with everything else) is what limits the rate. By default all M jobs are
submitted at once (--rate 0), so latency is mostly time queued behind earlier jobs (p50 ≈ half the wall
time); pass --rate (jobs/s, below the throughput) for the latency of an unsaturated system. The last line
is scanfleet's rate as a share of the baseline's, per N. Everything (PostgreSQL, Valkey, fixture site,
API, workers) shares one machine, so N workers cannot scale beyond its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from arq import Worker, func
from arq.connections import ArqRedis

from bench._report import arguments, comma_list, table
from bench._servers import cancel_on_sigterm, postgres_and_valkey, stop_processes
from scanfleet.broker import connection
from scanfleet.config import Settings, get_settings
from scanfleet.db import api_keys, orgs
from scanfleet.db.pool import create_pool
from scanfleet.logs import configure_logging
from tests.support.site import FixtureSite, html

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
BASELINE_QUEUE = "bench:baseline"
UNLIMITED = 10**9  # an organisation's running and queued jobs
THIRD_PARTIES = [
    "www.googletagmanager.com",
    "www.google-analytics.com",
    "connect.facebook.net",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "cdn.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "static.hotjar.com",
    "js.stripe.com",
    "www.youtube.com",
    "i.ytimg.com",
    "px.ads.linkedin.com",
    "bat.bing.com",
    "cdn.segment.com",
    "widget.intercom.io",
    "images.ctfassets.net",
]


def shop_page(products: int = 120) -> str:
    """A shop front: trackers and fonts in the head, a product grid of CDN images, embeds and links."""
    head = [
        f'<script async src="https://{host}/js/loader.js?id=G-{n:04d}"></script>'
        for n, host in enumerate(THIRD_PARTIES[:8])
    ]
    head += [f'<link rel="stylesheet" href="https://{host}/css/site.css">' for host in THIRD_PARTIES[3:7]]
    cards = [
        f'<article class="card" data-sku="SKU-{n:05d}"><a href="/product/{n}">'
        f'<img src="https://{THIRD_PARTIES[8 + n % 8]}/img/product-{n}.webp" alt="Product {n}" loading="lazy">'
        f'<h3>Everyday product number {n}</h3></a><p class="price">€{10 + n % 90}.99</p>'
        f"<p>Hand-finished, sustainably sourced and shipped within two working days. Free returns.</p>"
        f'<button data-add-to-cart="{n}">Add to cart</button></article>'
        for n in range(products)
    ]
    nav = "".join(f'<li><a href="/category/{n}">Category {n}</a></li>' for n in range(20))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + "".join(head)
        + '<script src="/static/app.js"></script></head><body>'
        + f"<nav><ul>{nav}</ul></nav><main>{''.join(cards)}</main>"
        + '<iframe src="https://www.youtube.com/embed/xyz"></iframe>'
        + '<img src="https://px.ads.linkedin.com/collect?pid=1" width="1" height="1" alt="">'
        + '<footer><a href="https://www.facebook.com/shop">Facebook</a></footer></body></html>'
    )


def serve_page(site: FixtureSite) -> tuple[str, int]:
    page = html(
        shop_page(),
        ("Set-Cookie", "session=abc123; Path=/; HttpOnly; SameSite=Lax"),
        ("Set-Cookie", "cart=empty; Max-Age=2592000; Path=/"),
        ("Set-Cookie", "_ga=GA1.1.123.456; Max-Age=63072000; Path=/; SameSite=None"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", "camera=(), microphone=()"),
    )
    return site.add("/shop", page), len(page.body)


@dataclass
class Result:
    system: str
    workers: int
    latencies: list[float]  # seconds, one per job
    wall: float
    failed: int
    submit: float  # seconds this script took to submit the jobs

    def row(self) -> list[object]:
        p50, p95, p99 = (self.percentile(p) * 1000 for p in (50, 95, 99))
        rate = len(self.latencies) / self.wall
        return [
            self.system, self.workers, len(self.latencies), self.failed, f"{self.submit:.2f}", f"{self.wall:.2f}",
            f"{rate:.1f}", f"{p50:.0f}", f"{p95:.0f}", f"{p99:.0f}",
        ]  # fmt: skip

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]


@contextmanager
def worker_processes(argv: list[str], count: int, env: dict[str, str], logs: Path) -> Iterator[list[Path]]:
    """`count` worker subprocesses, each logging to a file; terminated on leaving, errors included."""
    processes: list[subprocess.Popen[bytes]] = []
    paths = [logs / f"{argv[-1].lstrip('-')}-{count}-{index}.log" for index in range(count)]
    try:
        for index, path in enumerate(paths):
            with path.open("wb") as log:
                worker_env = {**env, "SCANFLEET_WORKER_INDEX": str(index)}
                processes.append(subprocess.Popen(argv, cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT))
        yield paths
    finally:
        stop_processes(processes)


async def wait_started(paths: list[Path], timeout: float = 30.0) -> None:
    """Until every worker's log shows arq's start line (its on_startup runs right after)."""
    deadline = time.monotonic() + timeout
    while not all("Starting worker" in path.read_text(errors="replace") for path in paths):
        if time.monotonic() > deadline:
            tails = "\n".join(path.read_text(errors="replace")[-800:] for path in paths)
            raise RuntimeError(f"workers did not start within {timeout}s; their logs end:\n{tails}")
        await asyncio.sleep(0.05)


async def wait_for(count: Callable[[], Awaitable[int]], total: int, timeout: float) -> None:
    """Poll the async `count()` every 50 ms until it reaches `total`."""
    deadline = time.monotonic() + timeout
    while (done := await count()) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {total} jobs finished within {timeout}s")
        await asyncio.sleep(0.05)


async def submit_all(count: int, rate: float, submit: Callable[[], Awaitable[T]]) -> list[T]:
    """`submit()` `count` times: 8 at a time as fast as possible, or paced at `rate` per second."""
    limit = asyncio.Semaphore(8 if rate <= 0 else count)
    started = time.monotonic()

    async def one(index: int) -> T:
        if rate > 0:
            await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        async with limit:
            return await submit()

    return await asyncio.gather(*(one(index) for index in range(count)))


@dataclass
class Bench:
    """What both systems' runs share: the clients, the tenant, the page and the options."""

    args: argparse.Namespace
    api: httpx.AsyncClient
    pool: asyncpg.Pool
    queue: ArqRedis
    headers: dict[str, str]
    url: str
    page_bytes: int

    async def scanfleet(self, workers: int, count: int) -> Result:
        numbers = itertools.count()

        async def submit() -> uuid.UUID:
            # One URL per scan (the page ignores the query): the API reuses an in-flight scan of the same URL.
            url = f"{self.url}?scan={next(numbers)}"
            response = await self.api.post("/v1/scans", json={"url": url}, headers=self.headers)
            response.raise_for_status()
            return uuid.UUID(response.json()["id"])

        started = time.monotonic()
        scan_ids = await submit_all(count, self.args.rate, submit)
        submitted = time.monotonic() - started
        finished = "SELECT count(*) FROM scans WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL"

        async def done() -> int:
            return await self.pool.fetchval(finished, scan_ids)

        await wait_for(done, count, self.args.timeout)
        rows = await self.pool.fetch(
            "SELECT created_at, finished_at, status FROM scans WHERE id = ANY($1::uuid[])", scan_ids
        )
        latencies = [(row["finished_at"] - row["created_at"]).total_seconds() for row in rows]
        wall = (max(row["finished_at"] for row in rows) - min(row["created_at"] for row in rows)).total_seconds()
        failed = sum(row["status"] != "succeeded" for row in rows)
        return Result("scanfleet", workers, latencies, wall, failed, submitted)

    async def baseline(self, workers: int, count: int) -> Result:
        batch = uuid.uuid4().hex[:8]
        numbers = iter(range(count))

        async def submit() -> None:
            job_id = f"{batch}-{next(numbers)}"
            await self.queue.enqueue_job("fetch_page", self.url, _job_id=job_id, _queue_name=BASELINE_QUEUE)

        async def results() -> int:
            return len(await self.queue.keys(f"arq:result:{batch}-*"))

        started = time.monotonic()
        await submit_all(count, self.args.rate, submit)
        submitted = time.monotonic() - started
        await wait_for(results, count, self.args.timeout)
        found = [result for result in await self.queue.all_job_results() if result.job_id.startswith(batch)]
        latencies = [(result.finish_time - result.enqueue_time).total_seconds() for result in found]
        wall = (max(r.finish_time for r in found) - min(r.enqueue_time for r in found)).total_seconds()
        failed = sum(not result.success or result.result != self.page_bytes for result in found)
        return Result("baseline", workers, latencies, wall, failed, submitted)


async def measure(args: argparse.Namespace, settings: Settings, site: FixtureSite, logs: Path) -> list[Result]:
    from scanfleet.api.app import create_app

    url, page_bytes = serve_page(site)
    pool = await create_pool(settings)
    queue = await connection.connect(settings)
    app = create_app(settings)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "SCANFLEET_WORKER_METRICS_PORT": "0",
        "SCANFLEET_WORKER_POLL_DELAY_SECONDS": "0.01",
        "SCANFLEET_WORKER_MAX_JOBS": str(args.max_jobs),
    }
    systems = {
        "scanfleet": [sys.executable, "-m", "scanfleet.worker"],
        "baseline": [sys.executable, "-m", "bench.e2e_scans", "--baseline-worker"],
    }
    results: list[Result] = []
    try:
        org = await orgs.create(pool, "bench", "enterprise")
        # The gate passes every scan straight on to arq's queue, as the baseline enqueues: the fleet is measured.
        await orgs.set_capacity(pool, org.id, "enterprise", UNLIMITED, UNLIMITED)
        _, key = await api_keys.create(pool, org.id, "bench")
        print(
            f"page: {page_bytes:,} bytes of HTML, {len(THIRD_PARTIES)} third-party hosts, 3 cookies; "
            f"{args.scans} scans per run; max_jobs {args.max_jobs} per worker; "
            f"submission {'all at once' if args.rate <= 0 else f'{args.rate:g}/s'}; "
            "API in-process via httpx.ASGITransport\n",
            flush=True,
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://scanfleet.bench") as api:
                bench = Bench(args, api, pool, queue, {"Authorization": f"Bearer {key}"}, url, page_bytes)
                for n in args.workers:
                    for system, argv in systems.items():
                        run = bench.scanfleet if system == "scanfleet" else bench.baseline
                        with worker_processes(argv, n, env, logs) as paths:
                            await wait_started(paths)
                            await run(n, 2 * n)  # warm-up: connections, imports, first-use caches
                            results.append(await run(n, args.scans))
    finally:
        await queue.aclose()
        await pool.close()
    return results


def report(results: list[Result]) -> None:
    header = ["system", "workers", "scans", "failed", "submit s", "wall s", "scans/s", "p50 ms", "p95 ms", "p99 ms"]
    print(table(header, [result.row() for result in results]))
    rates = {(r.system, r.workers): len(r.latencies) / r.wall for r in results}
    ratios = [
        f"N={n}: {rates['scanfleet', n] / rates['baseline', n]:.2f}"
        for n in sorted({r.workers for r in results})
        if ("scanfleet", n) in rates and ("baseline", n) in rates
    ]
    print(f"\nscanfleet/baseline scans/s: {', '.join(ratios)}")


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    base = Settings(db_pool_max_size=10, worker_metrics_port=0)
    async with postgres_and_valkey("bench-e2e-", base) as (settings, logs):
        with FixtureSite() as site:
            results = await measure(args, settings, site, logs)
        report(results)


# --- the baseline worker: `python -m bench.e2e_scans --baseline-worker` (started by main) ---


async def fetch_page(ctx: dict[str, Any], url: str) -> int:
    response = await ctx["client"].get(url)
    return len(response.content)


def run_baseline_worker() -> None:
    settings = get_settings()  # REDIS_URL, max jobs and poll delay from the same env as scanfleet's workers
    configure_logging(settings.log_level)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["client"] = httpx.AsyncClient(trust_env=False)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["client"].aclose()

    Worker(
        functions=[func(fetch_page, name="fetch_page")],
        redis_settings=connection.redis_settings(settings),
        queue_name=BASELINE_QUEUE,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay_seconds,
        keep_result=60,
        on_startup=startup,
        on_shutdown=shutdown,
    ).run()


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument(
        "--workers",
        type=comma_list(int),
        default=[1, 2],
        help="comma-separated worker process counts to run (default 1,2)",
    )
    parser.add_argument("--scans", type=int, default=600, help="scans (jobs) per run (default 600)")
    parser.add_argument("--max-jobs", type=int, default=20, help="concurrent jobs per worker (default 20)")
    parser.add_argument("--rate", type=float, default=0, help="submissions per second; 0 = all at once (default)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a run may take before failing")
    parser.add_argument("--baseline-worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.baseline_worker:
        run_baseline_worker()
    else:
        asyncio.run(main(arguments))
