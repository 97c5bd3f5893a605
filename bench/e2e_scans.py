"""End-to-end privacy scans per second with N worker processes against a local fixture site.

    python -m bench.e2e_scans [--workers 1,2] [--scans 600] [--max-jobs 20] [--rate 0]

Starts an embedded PostgreSQL and Valkey in a temporary directory, migrates a fresh database, serves one
realistic shop page (≈45 KB of HTML referencing 16 third-party hosts, 3 Set-Cookie headers and security
headers) from a FixtureSite on 127.0.0.1, and runs the API in this process through httpx.ASGITransport
(no HTTP server or socket between this script and the API; everything after the API is real).

For each N it runs three systems, each with N real worker processes, on the same page and the same M jobs,
each job fetching the page under a query string of its own that no earlier run used:

  scanfleet  M scans submitted through POST /v1/scans (auth, rate limit, row insert under the dedup lock and
             the capacity gate's admission, for one enterprise organisation whose limits let every scan straight
             on to arq's queue), run by `python -m scanfleet.worker` processes (lease, claim, circuit breaker,
             guarded fetch, privacy analysis, evidence, issues, status and webhook outbox in one transaction,
             the gate's finish). Done = `finished_at` set in the scans table; latency = created_at → finished_at.
  arq+scan   M jobs enqueued straight into arq, run by plain arq workers doing the same work without the
             platform: the same guarded fetch (scanfleet.http.SafeFetcher, built as the worker builds it), the
             same privacy analysis (scanfleet.worker.scan), and one raw COPY of the same evidence rows into the
             same day-partitioned `evidence` table. No gate, lease, breaker, wake-up, status row or outbox.
             Latency = arq enqueue → finish.
  arq+fetch  the same, but the task only GETs the page with a bare httpx client (no guard, no analysis, no
             database): the floor of a queued fetch.

All workers get the same max_jobs and poll delay (and pool size, where they use PostgreSQL), and a few untimed
warm-up jobs first. Throughout, this script runs the scheduler's rounds that a submission's lookup depends on
(`_servers.scheduler_upkeep`: statistics for filling partitions, the bound of the days it reads) every
`SCANFLEET_SCHEDULER_INTERVAL_SECONDS`: the runs fill fresh partitions.
Workers are stopped (SIGTERM) after each run, also on errors.

A run counts only jobs it submitted and its own workers ran; anything else stops the benchmark with exit
status 1 and a message saying what: a scan the API answered by reusing another (`reused`), arq refusing a job
id it already had, a job that never finished or has no result, or a job finished by a process that is not one
of the run's workers (for scanfleet: a scan missing from its workers' "run_scan <id> …" log lines; for the
baselines: a result from another pid), or a job that succeeded without finding what the page holds (its evidence
rows; for arq+fetch, its bytes).

Reading the tables: "wall s" runs from the first submission to the last finish; scans/s = M / wall.
"submit s" is how long this script took to submit the M jobs: when it nears "wall s", submission (the
in-process API, sharing the CPUs with everything else) is what limits the rate. By default all M jobs are
submitted at once (--rate 0), so latency is mostly time queued behind earlier jobs (p50 ≈ half the wall
time); pass --rate (jobs/s, below the throughput) for the latency of an unsaturated system. The second table
gives scanfleet's rate as a share of each baseline's, per N, all from this one run. Everything (PostgreSQL,
Valkey, fixture site, API, workers) shares one machine, so N workers cannot scale beyond its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import psutil
from arq import Worker, func
from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.jobs import Job

from bench._process_tree import SERVERS, servers_cpu, usage
from bench._report import arguments, comma_list, table
from bench._servers import bench_api, cancel_on_sigterm, postgres_and_valkey, scheduler_upkeep, stop_processes
from bench.evidence_write import raw_records
from scanfleet import ids
from scanfleet.broker import connection
from scanfleet.config import Settings, get_settings
from scanfleet.db.pool import create_pool
from scanfleet.db.results import EVIDENCE_COLUMNS
from scanfleet.logs import configure_logging
from tests.support.site import FixtureSite, html

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
BASELINE_QUEUE = "bench:baseline"
SYSTEMS = ("scanfleet", "arq+scan", "arq+fetch")
BASELINE_TASKS = {"arq+scan": "scan_page", "arq+fetch": "fetch_page"}
# What a scanfleet worker logs when it has written a scan's result (worker/tasks.py, _finish).
FINISHED_LINE = re.compile(r"^run_scan (?P<id>[0-9a-f-]{36}) (?P<ended>\S+) \((?P<rows>\d+) evidence rows\)$")
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


class NotThisRun(RuntimeError):
    """A run would report jobs it did not submit, or that its own workers did not run."""


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
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds the run took, per part of the machine

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def row(self) -> list[object]:
        p50, p95, p99 = (self.percentile(p) * 1000 for p in (50, 95, 99))
        return [
            self.system, self.workers, len(self.latencies), self.failed, f"{self.submit:.2f}", f"{self.wall:.2f}",
            f"{self.rate:.1f}", f"{p50:.0f}", f"{p95:.0f}", f"{p99:.0f}",
        ]  # fmt: skip

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]


@dataclass
class Workers:
    """One system's worker processes for one N, and what they logged."""

    system: str
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    @property
    def pids(self) -> set[int]:
        return {process.pid for process in self.processes}

    def finished_scans(self) -> dict[uuid.UUID, tuple[str, int]]:
        """The scans these scanfleet workers wrote a result for: how each ended, and its evidence rows."""
        finished: dict[uuid.UUID, tuple[str, int]] = {}
        for path in self.logs:
            for line in path.read_text(errors="replace").splitlines():
                try:
                    message = json.loads(line).get("msg", "")
                except ValueError:
                    continue  # not one of scanfleet's JSON lines
                if match := FINISHED_LINE.match(message):
                    finished[uuid.UUID(match["id"])] = (match["ended"], int(match["rows"]))
        return finished


CPU_PARTS = ("this script + API", "workers", *SERVERS)


def cpu_split(workers: Workers) -> dict[str, float]:
    """CPU seconds used so far by each part: this process (the submitting script, the in-process API and the
    fixture site), the run's worker trees, and the servers."""
    me = psutil.Process()
    own = me.cpu_times()
    run_by = [child for child in me.children() if child.pid in workers.pids]
    return {
        CPU_PARTS[0]: own.user + own.system,
        "workers": sum(usage(child, with_uss=False).cpu for child in run_by),
        **servers_cpu(),
    }


@contextmanager
def worker_processes(system: str, argv: list[str], count: int, env: dict[str, str], logs: Path) -> Iterator[Workers]:
    """`count` worker subprocesses, each logging to a file; terminated on leaving, errors included."""
    workers = Workers(system, [], [logs / f"{system.replace('+', '-')}-{count}-{index}.log" for index in range(count)])
    try:
        for index, path in enumerate(workers.logs):
            with path.open("wb") as log:
                worker_env = {**env, "SCANFLEET_WORKER_INDEX": str(index)}
                process = subprocess.Popen(argv, cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT)
                workers.processes.append(process)
        yield workers
    finally:
        stop_processes(workers.processes)


async def wait_started(paths: list[Path], timeout: float = 30.0) -> None:
    """Until every worker's log shows arq's start line (its on_startup runs right after)."""
    deadline = time.monotonic() + timeout
    while not all("Starting worker" in path.read_text(errors="replace") for path in paths):
        if time.monotonic() > deadline:
            tails = "\n".join(path.read_text(errors="replace")[-800:] for path in paths)
            raise RuntimeError(f"workers did not start within {timeout}s; their logs end:\n{tails}")
        await asyncio.sleep(0.05)


async def wait_for(count: Callable[[], Awaitable[int]], total: int, timeout: float, system: str) -> None:
    """Poll the async `count()` every 200 ms until it reaches `total` (the wall time is read from the jobs' own
    times, so the poll only has to be cheap: it shares the machine with the run)."""
    deadline = time.monotonic() + timeout
    while (done := await count()) < total:
        if time.monotonic() > deadline:
            raise NotThisRun(f"{system}: only {done} of {total} jobs finished within {timeout}s")
        await asyncio.sleep(0.2)


async def submit_all(count: int, rate: float, submit: Callable[[int], Awaitable[T]]) -> list[T]:
    """`submit(index)` for each of `count` jobs: 8 at a time as fast as possible, or paced at `rate` per second."""
    limit = asyncio.Semaphore(8 if rate <= 0 else count)
    started = time.monotonic()

    async def one(index: int) -> T:
        if rate > 0:
            await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        async with limit:
            return await submit(index)

    return await asyncio.gather(*(one(index) for index in range(count)))


def refuse(system: str, problem: str, examples: list[object], total: int) -> None:
    """Stop the benchmark: `examples` of the run's `total` jobs show that it would report what it did not run."""
    if examples:
        shown = ", ".join(map(str, examples[:3]))
        raise NotThisRun(f"{system}: {len(examples)} of {total} jobs {problem} (e.g. {shown})")


@dataclass
class Bench:
    """What the systems' runs share: the clients, the tenant, the page and the options."""

    args: argparse.Namespace
    api: httpx.AsyncClient
    pool: asyncpg.Pool
    queue: ArqRedis
    org_id: uuid.UUID
    url: str
    page_bytes: int
    evidence_rows: int  # what one scan of the page finds
    runs: Iterator[int] = field(default_factory=itertools.count)  # sets each run's URLs apart from the others'

    def urls(self) -> Callable[[int], str]:
        """The page under a query string no other run uses: no job can be answered by an earlier one."""
        run = next(self.runs)
        return lambda index: f"{self.url}?run={run}&job={index}"

    async def run(self, system: str, workers: Workers, count: int) -> Result:
        if system == "scanfleet":
            return await self.scanfleet(workers, count)
        return await self.baseline(system, workers, count)

    async def scanfleet(self, workers: Workers, count: int) -> Result:
        url_of = self.urls()

        async def submit(index: int) -> tuple[str, int, str | None, uuid.UUID]:
            url = url_of(index)
            response = await self.api.post("/v1/scans", json={"url": url})
            response.raise_for_status()
            body = response.json()
            return url, response.status_code, body.get("reused"), uuid.UUID(body["id"])

        started = time.monotonic()
        answers = await submit_all(count, self.args.rate, submit)
        submitted = time.monotonic() - started
        refuse(
            "scanfleet", "were answered with a reused scan instead of a new one",
            [f"{url}: {status} reused={reused}" for url, status, reused, _ in answers if status != 202 or reused],
            count,
        )  # fmt: skip
        scan_ids = [scan_id for *_, scan_id in answers]
        finished = "SELECT count(*) FROM scans WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL"

        async def done() -> int:
            return int(await self.pool.fetchval(finished, scan_ids))

        await wait_for(done, count, self.args.timeout, "scanfleet")
        rows = await self.pool.fetch(
            "SELECT created_at, finished_at, status FROM scans WHERE id = ANY($1::uuid[])", scan_ids
        )
        ran = workers.finished_scans()
        refuse("scanfleet", "were not finished by this run's workers (not in their logs)",
               [scan_id for scan_id in scan_ids if scan_id not in ran], count)  # fmt: skip
        refuse("scanfleet", f"succeeded without the page's {self.evidence_rows} evidence rows",
               [f"{scan_id}: {ran[scan_id][1]}" for scan_id in scan_ids
                if ran[scan_id][0] == "succeeded" and ran[scan_id][1] != self.evidence_rows],
               count)  # fmt: skip
        latencies = [(row["finished_at"] - row["created_at"]).total_seconds() for row in rows]
        wall = (max(row["finished_at"] for row in rows) - min(row["created_at"] for row in rows)).total_seconds()
        failed = sum(row["status"] != "succeeded" for row in rows)
        return Result("scanfleet", len(workers.processes), latencies, wall, failed, submitted)

    async def baseline(self, system: str, workers: Workers, count: int) -> Result:
        url_of = self.urls()
        batch = uuid.uuid4().hex[:8]
        job_ids = [f"{batch}-{index}" for index in range(count)]
        task = BASELINE_TASKS[system]

        async def submit(index: int) -> Job | None:
            args = (url_of(index), str(self.org_id)) if task == "scan_page" else (url_of(index),)
            return await self.queue.enqueue_job(task, *args, _job_id=job_ids[index], _queue_name=BASELINE_QUEUE)

        started = time.monotonic()
        enqueued = await submit_all(count, self.args.rate, submit)
        submitted = time.monotonic() - started
        # arq answers None for a job id it already holds: that job would not be this run's.
        refuse(system, "were refused by arq as already enqueued",
               [job_id for job_id, job in zip(job_ids, enqueued, strict=True) if job is None], count)  # fmt: skip
        result_keys = [result_key_prefix + job_id for job_id in job_ids]

        async def results() -> int:
            return int(await self.queue.exists(*result_keys))

        await wait_for(results, count, self.args.timeout, system)
        # Each job's own result, by id: other runs' results may expire or be deleted meanwhile.
        infos = [await Job(job_id, self.queue, _queue_name=BASELINE_QUEUE).result_info() for job_id in job_ids]
        refuse(system, "have no result", [job_id for job_id, info in zip(job_ids, infos, strict=True) if info is None],
               count)  # fmt: skip
        found = [info for info in infos if info is not None]
        refuse(system, "were run by a process that is not one of this run's workers",
               [f"{info.job_id}: pid {info.result['pid']}" for info in found
                if info.success and info.result["pid"] not in workers.pids], count)  # fmt: skip
        expected = self.evidence_rows if task == "scan_page" else self.page_bytes
        refuse(system, f"succeeded without finding the page's {expected} {'rows' if task == 'scan_page' else 'bytes'}",
               [f"{info.job_id}: {info.result['found']}" for info in found
                if info.success and info.result["ok"] and info.result["found"] != expected], count)  # fmt: skip
        latencies = [(info.finish_time - info.enqueue_time).total_seconds() for info in found]
        wall = (max(i.finish_time for i in found) - min(i.enqueue_time for i in found)).total_seconds()
        failed = sum(not info.success or not info.result["ok"] for info in found)
        return Result(system, len(workers.processes), latencies, wall, failed, submitted)


async def page_evidence(settings: Settings, url: str) -> int:
    """How many evidence rows one scan of the page finds (every job of every system must find as many)."""
    from scanfleet.worker.app import fetcher_for
    from scanfleet.worker.scan import scan_url

    fetcher = fetcher_for(settings)
    try:
        outcome = await scan_url(fetcher, url)
    finally:
        await fetcher.aclose()
    if outcome.status.value != "succeeded":
        raise RuntimeError(f"the page itself does not scan: {outcome.error_code} {outcome.error_message}")
    return len(outcome.evidence)


async def measure(args: argparse.Namespace, settings: Settings, site: FixtureSite, logs: Path) -> list[Result]:
    url, page_bytes = serve_page(site)
    pool = await create_pool(settings)
    queue = await connection.connect(settings)
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
    module = [sys.executable, "-m", "bench.e2e_scans", "--baseline-worker"]
    systems = {
        "scanfleet": [sys.executable, "-m", "scanfleet.worker"],
        "arq+scan": [*module, "arq+scan"],
        "arq+fetch": [*module, "arq+fetch"],
    }
    results: list[Result] = []
    try:
        evidence_rows = await page_evidence(settings, url)
        print(
            f"page: {page_bytes:,} bytes of HTML, {len(THIRD_PARTIES)} third-party hosts, 3 cookies, "
            f"{evidence_rows} evidence rows; {args.scans} scans per run; max_jobs {args.max_jobs} per worker; "
            f"submission {'all at once' if args.rate <= 0 else f'{args.rate:g}/s'}; "
            "API in-process via httpx.ASGITransport\n",
            flush=True,
        )
        # The gate passes every scan straight on to arq's queue, as the baselines enqueue: the fleet is measured.
        async with bench_api(settings, pool, "enterprise") as (api, org_id), scheduler_upkeep(pool, settings):
            bench = Bench(args, api, pool, queue, org_id, url, page_bytes, evidence_rows)
            for n in args.workers:
                for system in SYSTEMS:
                    with worker_processes(system, systems[system], n, env, logs) as workers:
                        await wait_started(workers.logs)
                        await bench.run(system, workers, 2 * n)  # warm-up: connections, imports, caches
                        before = cpu_split(workers)
                        results.append(await bench.run(system, workers, args.scans))
                        after = cpu_split(workers)
                        results[-1].cpu = {part: after[part] - before[part] for part in CPU_PARTS}
                        done = results[-1]
                        print(f"{system}, {n} workers: {done.rate:.1f} scans/s", flush=True)
    finally:
        await queue.aclose()
        await pool.close()
    return results


HEADER = ["system", "workers", "scans", "failed", "submit s", "wall s", "scans/s", "p50 ms", "p95 ms", "p99 ms"]


def report(results: list[Result]) -> None:
    print()
    print(table(HEADER, [result.row() for result in results]))
    rates = {(r.system, r.workers): r.rate for r in results}
    rows = []
    for n in sorted({r.workers for r in results}):
        if all((system, n) in rates for system in SYSTEMS):
            ours = rates["scanfleet", n]
            rows.append(
                [n, *(f"{rates[system, n]:.1f}" for system in SYSTEMS),
                 *(f"{ours / rates[system, n]:.2f}" for system in SYSTEMS[1:])]
            )  # fmt: skip
    header = ["workers", *(f"{system} /s" for system in SYSTEMS), *(f"scanfleet/{system}" for system in SYSTEMS[1:])]
    print("\nscanfleet's scans/s as a share of each baseline's, same run:\n")
    print(table(header, rows))
    print("\nCPU ms per scan, by process (the machine has", psutil.cpu_count(), "CPUs):\n")
    cpu_rows = [
        [r.system, r.workers, *(f"{1000 * r.cpu[part] / len(r.latencies):.2f}" for part in CPU_PARTS),
         f"{1000 * sum(r.cpu.values()) / len(r.latencies):.2f}"]
        for r in results
    ]  # fmt: skip
    print(table(["system", "workers", *CPU_PARTS, "all"], cpu_rows))


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    # The page is on loopback: this process scans it once, to know the evidence every job must find.
    base = Settings(db_pool_max_size=10, worker_metrics_port=0, fetch_allow_networks=[ip_network("127.0.0.0/8")])
    async with postgres_and_valkey("bench-e2e-", base) as (settings, logs):
        with FixtureSite() as site:
            results = await measure(args, settings, site, logs)
        report(results)


# --- the baseline workers: `python -m bench.e2e_scans --baseline-worker arq+scan|arq+fetch` (started by main) ---


async def fetch_page(ctx: dict[str, Any], url: str) -> dict[str, int]:
    response = await ctx["client"].get(url)
    return {"pid": os.getpid(), "ok": response.status_code == 200, "found": len(response.content)}


async def scan_page(ctx: dict[str, Any], url: str, org_id: str) -> dict[str, int]:
    """scanfleet's work on one page without the platform: guarded fetch, analysis, one COPY of the evidence."""
    from scanfleet.worker.scan import scan_url

    outcome = await scan_url(ctx["fetcher"], url)
    records = raw_records(ids.new_id(), uuid.UUID(org_id), outcome.evidence)
    await ctx["pool"].copy_records_to_table("evidence", records=records, columns=EVIDENCE_COLUMNS)
    return {"pid": os.getpid(), "ok": outcome.status.value == "succeeded", "found": len(records)}


def run_baseline_worker(system: str) -> None:
    from scanfleet.worker.app import fetcher_for

    settings = get_settings()  # servers, max jobs, poll delay and pool size from the same env as scanfleet's
    configure_logging(settings.log_level)
    scans = system == "arq+scan"

    async def startup(ctx: dict[str, Any]) -> None:
        if scans:
            ctx["fetcher"] = fetcher_for(settings)
            ctx["pool"] = await create_pool(settings)
        else:
            ctx["client"] = httpx.AsyncClient(trust_env=False)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if scans:
            await ctx["fetcher"].aclose()
            await ctx["pool"].close()
        else:
            await ctx["client"].aclose()

    task = scan_page if scans else fetch_page
    Worker(
        functions=[func(task, name=BASELINE_TASKS[system])],
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
    parser.add_argument("--baseline-worker", choices=BASELINE_TASKS, help=argparse.SUPPRESS)
    return parser.parse_args()


def run_benchmark(args: argparse.Namespace) -> int:
    try:
        asyncio.run(main(args))
    except NotThisRun as exc:
        print(f"\nbench.e2e_scans: stopped, a run would report jobs it did not run: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    parsed = parse_args()
    if parsed.baseline_worker:
        run_baseline_worker(parsed.baseline_worker)
    else:
        sys.exit(run_benchmark(parsed))
