"""Browser scans per second per browser worker, its memory per page, and what a browser scan costs next to an http one.

    python -m bench.browser_scans [--pages 1,2] [--scans 10] [--http-scans 60] [--settle 0.5]

Starts an embedded PostgreSQL and Valkey in a temporary directory, migrates a fresh database, serves the fake
internet of tests/integration/browser (one HTTP and one HTTPS server on 127.0.0.1 answering every host, reached
through SCANFLEET_FETCH_RESOLVE) and runs the API in this process through httpx.ASGITransport. The page is its
shop (https://shop.test/): a tag manager that injects an analytics script and a pixel, a fingerprinter, a key
logger, a first-party cookie set by header and one set by script, local and session storage, IndexedDB.

For each --pages N, on the same page, the same number of scans, one Chromium each:

  scanfleet  M browser scans submitted at once through POST /v1/scans (engine browser, each of the page under its
             own query string), taken by one `SCANFLEET_WORKER_ENGINE=browser python -m scanfleet.worker` process
             running N pages at once (SCANFLEET_BROWSER_WORKER_PAGES): the gate's browser line, claim, the
             browse, evidence and status in PostgreSQL. Scan time = created_at → finished_at; run = started_at →
             finished_at.
  baseline   the engine alone: `browse()` over the same M URLs in N concurrent loops in a process of its own
             (runtime and limits built from the same settings), no API, gate or database. Scan time = from handing
             it the M URLs to each one's end; run = the browse itself.

Then `--http-scans` http scans of the same page through one http worker (`SCANFLEET_WORKER_MAX_JOBS`
`--http-max-jobs` at once), for the cost of a browser scan against an http scan.

Each run starts with a few untimed scans (the browser launches with the first page), then the worker's process
tree (the worker, Playwright's driver, every Chromium process; psutil, children recursive) is measured at rest
and sampled every 0.2 s through the run: RSS summed over the tree (pages shared between Chromium's processes
counted in each: an upper bound) and USS summed (pages private to one process: a lower bound, and one that other
programs on the machine do not move), peak, per page = (peak − at rest) / N, and per page added (peak at N
minus peak at the next smaller N, per page); CPU seconds of the tree per scan (the processes that exited meanwhile
included, through their parents' children times). The API, PostgreSQL, Valkey and the fake internet run outside
that tree and are not counted.

The run fails (exit status 1) before printing any table if a submission was answered with a reused scan, a
scan or browse is missing, a scan is not in its worker's log as finished by it, the fake internet never saw a
scan's own URL, or a scan succeeded without finding what the page holds (in a browser: the requests, cookie,
storage and fingerprinting its scripts make): it reports only scans it ran.
Failed scans are counted in "failed" and their error codes listed.

Reading the tables: part of a browser scan is waiting by design (SCANFLEET_BROWSER_SETTLE_SECONDS after the load
event, --settle here, default 0.5 as the fake vendors inject their tags within milliseconds, production's default
2.5; and 1 s after typing into the page's fields, for a key logger's batch), the rest is CPU ("CPU s/scan"): N
pages at once overlap the waits until the CPUs are the limit. All M scans are submitted at once, so scan time
includes time queued behind earlier scans; run time does not. Everything (PostgreSQL, Valkey, the API, the fake
internet, the worker and its browser) shares one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import trustme

from bench._process_tree import MIB, Peaks, Usage, at_rest, process_tree, sampled
from bench._report import arguments, comma_list, percentile, table
from bench._servers import bench_api, cancel_on_sigterm, postgres_and_valkey
from bench.e2e_scans import wait_started
from scanfleet.config import Settings, get_settings
from scanfleet.db.pool import create_pool
from scanfleet.logs import configure_logging
from scanfleet.tiers import DEFAULTS
from scanfleet.worker.browser import BrowseLimits, BrowserRuntime, browse, limits_for, runtime_for
from tests.integration.browser.sites import HOSTS, SHOP, build_sites
from tests.support.internet import Internet

ROOT = Path(__file__).resolve().parents[1]
WORKER = [sys.executable, "-m", "scanfleet.worker"]
BASELINE = [sys.executable, "-m", "bench.browser_scans", "--baseline-worker"]
TIER = "enterprise"
# Browser scans an organisation may have in flight: the browser line's limits are the tier's, not overridable.
BROWSER_IN_FLIGHT = DEFAULTS[TIER].browser_max_running + DEFAULTS[TIER].browser_max_queued
# What a scan of the shop page that succeeded must have found: its own analysis, and in a browser what the page's
# scripts did (requests they made, the cookie one wrote, storage, fingerprinting).
FOUND = {"http": {"coverage"}, "browser": {"coverage", "request", "browser_cookie", "storage", "fingerprinting"}}
# The line a worker logs for each scan or run it finished (worker/tasks.py).
FINISHED_LINE = re.compile(r"^run_(?:browser_scan|scan|checks) (?P<id>[0-9a-f-]{36}) \S+ \(\d+ evidence rows\)$")


class Unaccounted(Exception):
    """The run cannot vouch for a scan it would report: reused, missing, or never fetched."""


@dataclass
class Run:
    system: str  # scanfleet | baseline
    engine: str  # browser | http
    at_once: int  # pages (browser) or jobs (http) the worker runs at once
    latencies: list[float]  # seconds, submission → finished
    runs: list[float]  # seconds, started → finished
    wall: float  # first submission → last finish
    failures: list[str]  # error codes of the scans that did not succeed
    rest: Usage  # the worker's process tree after the warm-up, before the run
    peaks: Peaks  # and during the run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    @property
    def cpu_per_scan(self) -> float:
        return self.peaks.cpu / len(self.latencies)

    def label(self) -> list[object]:
        return [self.system, self.engine, self.at_once]

    def speed(self) -> list[object]:
        p50, p95 = (percentile(self.latencies, p) for p in (50, 95))
        return [
            *self.label(), len(self.latencies), len(self.failures), f"{self.wall:.1f}", f"{self.rate:.2f}",
            f"{p50:.2f}", f"{p95:.2f}", f"{percentile(self.runs, 50):.2f}", f"{percentile(self.runs, 95):.2f}",
            f"{self.cpu_per_scan:.2f}",
        ]  # fmt: skip

    def memory(self) -> list[object]:
        def mib(value: float) -> str:
            return str(round(value / MIB))  # not "-0" for a slot whose peak is within noise of its rest

        per = [
            (peak - rest) / self.at_once
            for peak, rest in ((self.peaks.rss, self.rest.rss), (self.peaks.uss, self.rest.uss))
        ]
        return [
            *self.label(), self.peaks.processes, mib(self.rest.rss), mib(self.peaks.rss), mib(per[0]),
            mib(self.rest.uss), mib(self.peaks.uss), mib(per[1]),
        ]  # fmt: skip


def _check_fetched(internet: Internet, urls: list[str]) -> None:
    """Each scan's own URL reached the fake internet: the scan ran, and ran against this page."""
    seen = {hit.path for hit in internet.hits_to("shop.test")}
    unseen = [url for url in urls if "/" + url.split("/", 3)[3] not in seen]
    if unseen:
        raise Unaccounted(f"{len(unseen)} of {len(urls)} scans never fetched their page, e.g. {unseen[0]}")


def _check_found(engine: str, kinds: dict[str, set[str]]) -> None:
    """Each scan that succeeded found what the page holds for `engine` (`kinds`: evidence kinds by scan)."""
    short = {scan: FOUND[engine] - found for scan, found in kinds.items() if FOUND[engine] - found}
    if short:
        scan, missing = next(iter(short.items()))
        raise Unaccounted(
            f"{len(short)} of {len(kinds)} {engine} scans succeeded without what the page holds, e.g. {scan} found"
            f" no {', '.join(sorted(missing))}"
        )


def finished_in(log: Path) -> set[str]:
    """The jobs a worker's log says it finished."""
    finished = set()
    for line in log.read_text(errors="replace").splitlines():
        try:
            message = json.loads(line).get("msg", "")
        except ValueError:
            continue  # not one of scanfleet's JSON lines
        if match := FINISHED_LINE.match(message):
            finished.add(match["id"])
    return finished


@dataclass
class Bench:
    args: argparse.Namespace
    api: httpx.AsyncClient
    pool: asyncpg.Pool
    internet: Internet
    env: dict[str, str]
    logs: Path

    async def platform(self, engine: str, at_once: int, count: int) -> Run:
        """`count` scans of the shop page by `engine` through the API, run by one worker process."""
        setting = "SCANFLEET_BROWSER_WORKER_PAGES" if engine == "browser" else "SCANFLEET_WORKER_MAX_JOBS"
        env = {**self.env, "SCANFLEET_WORKER_ENGINE": engine, setting: str(at_once)}
        label = f"{engine}{at_once}"
        log = self.logs / f"worker-{label}.log"
        async with process_tree(WORKER, env, log, ROOT) as worker:
            await wait_started([log])
            await self._scans(engine, at_once, f"warm-{label}", log)
            rest = await at_rest(psutil.Process(worker.pid))
            async with sampled(worker.pid, interval=0.2, uss_every=2) as peaks:
                rows = await self._scans(engine, count, label, log)
        created = min(row["created_at"] for row in rows)
        return Run(
            "scanfleet", engine, at_once,
            latencies=[(row["finished_at"] - row["created_at"]).total_seconds() for row in rows],
            runs=[(row["finished_at"] - row["started_at"]).total_seconds() for row in rows],
            wall=(max(row["finished_at"] for row in rows) - created).total_seconds(),
            failures=[row["error_code"] or "unknown" for row in rows if row["status"] != "succeeded"],
            rest=rest, peaks=peaks,
        )  # fmt: skip

    async def _scans(self, engine: str, count: int, label: str, log: Path) -> list[asyncpg.Record]:
        """Submit `count` fresh scans at once (8 requests at a time), wait until all finish; their rows, every one
        accounted for: finished by the worker logging to `log`, its page fetched, what the page holds found."""
        urls = [f"{SHOP}?scan={label}-{n}" for n in range(count)]
        submitting = asyncio.Semaphore(8)

        async def submit(url: str) -> uuid.UUID:
            async with submitting:
                answer = await self.api.post("/v1/scans", json={"url": url, "engine": engine, "fresh": True})
            body = answer.json()
            if answer.status_code == 200 or body.get("reused"):
                raise Unaccounted(f"the submission of {url} reused scan {body.get('id')} ({body.get('reused')})")
            if answer.status_code != 202 or body["engine"] != engine:
                raise RuntimeError(f"POST /v1/scans for {url} answered {answer.status_code}: {answer.text}")
            return uuid.UUID(body["id"])

        scan_ids = await asyncio.gather(*(submit(url) for url in urls))
        if len(set(scan_ids)) != count:
            raise Unaccounted(f"{count} submissions made only {len(set(scan_ids))} scans")
        finished = "SELECT count(*) FROM scans WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL"
        deadline = time.monotonic() + self.args.timeout
        while (done := await self.pool.fetchval(finished, scan_ids)) < count:
            if time.monotonic() > deadline:
                raise Unaccounted(f"{label}: only {done} of {count} scans finished within {self.args.timeout:g} s")
            await asyncio.sleep(0.05)
        rows = await self.pool.fetch(
            "SELECT id, engine, status, error_code, created_at, started_at, finished_at FROM scans"
            " WHERE id = ANY($1::uuid[])",
            scan_ids,
        )
        found = {row["id"] for row in rows if row["engine"] == engine}
        if len(found) != count:
            raise Unaccounted(f"{label}: {count - len(found)} of {count} {engine} scans are missing from the database")
        not_ours = {str(scan) for scan in scan_ids} - await asyncio.to_thread(finished_in, log)
        if not_ours:
            raise Unaccounted(f"{label}: {len(not_ours)} of {count} scans were not finished by this run's worker")
        _check_fetched(self.internet, urls)
        evidence = await self.pool.fetch(
            "SELECT scan_id, array_agg(DISTINCT kind) AS kinds FROM evidence WHERE scan_id = ANY($1::uuid[])"
            " GROUP BY scan_id",
            [row["id"] for row in rows if row["status"] == "succeeded"],
        )
        kinds: dict[str, set[str]] = {str(row["id"]): set() for row in rows if row["status"] == "succeeded"}
        kinds.update({str(row["scan_id"]): set(row["kinds"]) for row in evidence})
        _check_found(engine, kinds)
        return rows

    async def baseline(self, pages: int, count: int) -> Run:
        """The same browsing with the engine alone: `browse()` in `pages` loops in a process of its own."""
        env = {**self.env, "SCANFLEET_BROWSER_WORKER_PAGES": str(pages)}
        log = self.logs / f"baseline-{pages}.log"
        async with process_tree(BASELINE, env, log, ROOT, piped=True) as process:
            await self._browse(process, log, [f"{SHOP}?scan=warm-baseline{pages}-{n}" for n in range(pages)])
            rest = await at_rest(psutil.Process(process.pid))
            urls = [f"{SHOP}?scan=baseline{pages}-{n}" for n in range(count)]
            async with sampled(process.pid, interval=0.2, uss_every=2) as peaks:
                handed = time.time()
                results = await self._browse(process, log, urls)
        return Run(
            "baseline", "browser", pages,
            latencies=[result["finished"] - handed for result in results],
            runs=[result["finished"] - result["started"] for result in results],
            wall=max(result["finished"] for result in results) - handed,
            failures=[result["error"] or "unknown" for result in results if result["status"] != "succeeded"],
            rest=rest, peaks=peaks,
        )  # fmt: skip

    async def _browse(self, process: asyncio.subprocess.Process, log: Path, urls: list[str]) -> list[dict[str, Any]]:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(urls).encode() + b"\n")
        await process.stdin.drain()
        line = await asyncio.wait_for(process.stdout.readline(), self.args.timeout)
        if not line:
            tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-800:]
            raise RuntimeError(f"the baseline process exited (status {await process.wait()}); its log ends:\n{tail}")
        results: list[dict[str, Any]] = json.loads(line)
        browsed = sorted(result["url"] for result in results)
        if browsed != sorted(urls):
            raise Unaccounted(f"baseline: {len(urls)} URLs handed over, {len(set(browsed) & set(urls))} browsed")
        _check_fetched(self.internet, urls)
        _check_found("browser", {r["url"]: set(r["kinds"]) for r in results if r["status"] == "succeeded"})
        return results


async def measure(
    args: argparse.Namespace, settings: Settings, internet: Internet, ca_file: Path, logs: Path
) -> list[Run]:
    pool = await create_pool(settings)
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith("SCANFLEET_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env = inherited | {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",  # the fake internet's one address
        "SCANFLEET_FETCH_RESOLVE": internet.resolve,
        "SCANFLEET_FETCH_CA_FILE": str(ca_file),
        "SCANFLEET_BROWSER_SETTLE_SECONDS": str(args.settle),
        "SCANFLEET_WORKER_METRICS_PORT": "0",
        "SCANFLEET_WORKER_POLL_DELAY_SECONDS": "0.01",
    }
    runs: list[Run] = []
    try:
        print(
            f"page: {SHOP} of the fake internet ({len(HOSTS) - 2} third-party hosts); {args.scans} browser scans per "
            f"run, settle {args.settle:g} s; {args.http_scans} http scans, {args.http_max_jobs} at once; "
            "all submitted at once; API in-process via httpx.ASGITransport\n",
            flush=True,
        )
        # The http line lets every scan straight on to its queue; the browser line keeps the tier's limits.
        async with bench_api(settings, pool, TIER) as (api, _):
            bench = Bench(args, api, pool, internet, env, logs)
            plan: list[Callable[[], Awaitable[Run]]] = [
                *(step for pages in args.pages for step in (
                    functools.partial(bench.platform, "browser", pages, args.scans),
                    functools.partial(bench.baseline, pages, args.scans),
                )),
                lambda: bench.platform("http", args.http_max_jobs, args.http_scans),
            ]  # fmt: skip
            for step in plan:
                started = time.monotonic()
                run = await step()
                print(f"  {' '.join(map(str, run.label()))}: {time.monotonic() - started:.0f} s", flush=True)
                runs.append(run)
    finally:
        await pool.close()
    return runs


def report(runs: list[Run]) -> None:
    speed = ["system", "engine", "at once", "scans", "failed", "wall s", "scans/s", "p50 s", "p95 s", "run p50 s",
             "run p95 s", "CPU s/scan"]  # fmt: skip
    memory = ["system", "engine", "at once", "procs", "RSS rest", "RSS peak", "RSS/page", "USS rest", "USS peak",
              "USS/page"]  # fmt: skip
    print("\nthroughput and scan time (p50/p95: created → finished; run: started → finished)")
    print(table(speed, [run.speed() for run in runs]))
    print("\nmemory of the worker's process tree, MiB (per page: (peak − rest) / at once; http: per job slot)")
    print(table(memory, [run.memory() for run in runs]))
    browser = {(run.system, run.at_once): run for run in runs if run.engine == "browser"}
    pages = sorted({run.at_once for run in runs if run.engine == "browser"})
    shares = [
        f"pages={n}: {browser['scanfleet', n].rate / browser['baseline', n].rate:.2f}"
        for n in pages
        if ("scanfleet", n) in browser and ("baseline", n) in browser
    ]
    print(f"\nscanfleet/baseline browser scans/s: {', '.join(shares)}")
    steps = []
    for system in ("scanfleet", "baseline"):
        for low, high in itertools.pairwise(pages):
            if (system, low) in browser and (system, high) in browser:
                fewer, more = browser[system, low].peaks, browser[system, high].peaks
                rss, uss = ((b - a) / (high - low) / MIB for a, b in ((fewer.rss, more.rss), (fewer.uss, more.uss)))
                steps.append(f"{system} {low}→{high}: RSS {rss:+.0f}, USS {uss:+.0f}")
    if steps:
        print(f"peak memory per page added at once, MiB: {'; '.join(steps)}")
    [http] = [run for run in runs if run.engine == "http"]
    for n in pages:
        if ("scanfleet", n) not in browser:
            continue
        run = browser["scanfleet", n]
        per_scan = (percentile(run.runs, 50) / percentile(http.runs, 50), run.cpu_per_scan / http.cpu_per_scan)
        per_worker = (run.peaks.uss / http.peaks.uss, http.rate / run.rate)
        print(
            f"browser (pages={n}) / http: per scan, run p50 ×{per_scan[0]:.0f} and worker CPU ×{per_scan[1]:.0f}; "
            f"per worker, USS peak ×{per_worker[0]:.1f} and scans/s ÷{per_worker[1]:.0f}"
        )
    for run in runs:
        if run.failures:
            codes = ", ".join(f"{code} ×{run.failures.count(code)}" for code in sorted(set(run.failures)))
            print(f"failed in {' '.join(map(str, run.label()))}: {codes}")


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    base = Settings(db_pool_max_size=10, worker_metrics_port=0)
    async with postgres_and_valkey("bench-browser-", base) as (settings, logs):
        ca = trustme.CA()
        ca_file = logs / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        with Internet(ca, HOSTS) as internet:
            build_sites(internet)
            runs = await measure(args, settings, internet, ca_file, logs)
        report(runs)


# --- the baseline: `python -m bench.browser_scans --baseline-worker` (started by main) ---


async def browse_all(
    runtime: BrowserRuntime, limits: BrowseLimits, urls: list[str], pages: int
) -> list[dict[str, Any]]:
    """`browse()` over `urls` in `pages` concurrent loops, as a browser worker's `pages` slots take jobs."""
    waiting = iter(urls)
    results: list[dict[str, Any]] = []

    async def loop() -> None:
        for url in waiting:
            started = time.time()
            outcome = await browse(runtime, url, limits)
            finished = time.time()
            results.append({
                "url": url, "started": started, "finished": finished, "status": outcome.status.value,
                "error": outcome.error_code, "kinds": sorted({row.kind for row in outcome.evidence}),
            })  # fmt: skip

    await asyncio.gather(*(loop() for _ in range(pages)))
    return results


async def baseline_worker() -> None:
    """One browser runtime from the worker's settings; each line of stdin a JSON list of URLs, each answered
    with one line of results on stdout. Ends at the end of stdin."""
    cancel_on_sigterm()
    settings = get_settings()
    configure_logging(settings.log_level)
    limits = limits_for(settings)
    async with runtime_for(settings) as runtime:
        while line := await asyncio.to_thread(sys.stdin.readline):
            results = await browse_all(runtime, limits, json.loads(line), settings.browser_worker_pages)
            print(json.dumps(results), flush=True)


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument(
        "--pages", type=comma_list(int), default=[1, 2], help="comma-separated pages at once to run (default 1,2)"
    )
    parser.add_argument("--scans", type=int, default=10, help="browser scans per run (default 10)")
    parser.add_argument("--http-scans", type=int, default=60, help="http scans of the same page (default 60)")
    parser.add_argument("--http-max-jobs", type=int, default=20, help="jobs the http worker runs at once (default 20)")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds a page is watched after load (default 0.5)")
    parser.add_argument("--timeout", type=float, default=150, help="seconds a run may take before failing")
    parser.add_argument("--baseline-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.scans <= BROWSER_IN_FLIGHT:
        parser.error(f"--scans: 1 to {BROWSER_IN_FLIGHT}, the browser scans a {TIER} organisation may have in flight")
    if min(args.pages) < 1 or args.http_scans < 1 or args.http_max_jobs < 1:
        parser.error("--pages, --http-scans and --http-max-jobs: at least 1")
    return args


if __name__ == "__main__":
    options = parse_args()
    if options.baseline_worker:
        asyncio.run(baseline_worker())
    else:
        try:
            asyncio.run(main(options))
        except Unaccounted as exc:
            sys.exit(f"bench.browser_scans: nothing reported, a scan is not accounted for: {exc}")
