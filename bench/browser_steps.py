"""Browser steps per second per browser worker, side by side with the same actions in plain Playwright.

    python -m bench.browser_steps [--pages 1,2] [--runs 12]

Starts an embedded PostgreSQL and Valkey in a temporary directory, migrates a fresh database, serves the web apps
of tests/integration/browser/apps.py on the fake internet (HTTPS on 127.0.0.1, reached through
SCANFLEET_FETCH_RESOLVE) and runs the API in this process through httpx.ASGITransport. Each run is one suite of
three browser steps: sign in (15 actions: fill, select, check, hover, click, a wait for the URL, six assertions,
an extraction), open the single-page app (2), and follow its client-side route to a view rendered from a fetch (5).

For each --pages N:

  scanfleet  --runs runs submitted at once through POST /v1/runs, taken by one
             `SCANFLEET_WORKER_ENGINE=browser python -m scanfleet.worker` process running N at once
             (SCANFLEET_BROWSER_WORKER_PAGES): the gate's browser line, claim, a browser context per run behind the
             guarded proxy, each action and assertion, timings and vitals, evidence and verdict in PostgreSQL.
  baseline   the same actions in plain Playwright, in this process: the same Chromium, a context per run, N runs
             at once, Playwright's own waiting and `expect` for the assertions; no API, gate, database, proxy or
             guard, no timings or evidence.

steps/s = runs × 3 / wall (first submission → last finish); run p50/p95: a run from its start to its end (in
scanfleet, started_at → finished_at in PostgreSQL).

The run fails (exit status 1) before printing the table if a run is missing, did not pass, was not finished by
this worker (its log), lacks a step's evidence row, or if the apps did not see each run sign in: it reports only
runs it ran.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import trustme
from playwright.async_api import Browser, Page, async_playwright, expect

from bench._process_tree import process_tree
from bench._report import arguments, comma_list, percentile, table
from bench._servers import bench_api, cancel_on_sigterm, postgres_and_valkey
from bench.browser_scans import BROWSER_IN_FLIGHT, ROOT, TIER, WORKER, finished_in
from bench.e2e_scans import wait_started
from scanfleet.config import Settings
from scanfleet.db.pool import create_pool
from scanfleet.worker.browser.profile import find_executable
from tests.integration.browser.apps import APP, LOGIN, PASSWORD, SPA_ROUTES, USER, build_apps
from tests.integration.browser.sites import HOSTS
from tests.support.internet import Internet

STEPS: list[dict[str, Any]] = [
    {"kind": "browser", "name": "sign in", "actions": LOGIN},
    {"kind": "browser", "name": "inbox", "actions": [
        {"action": "goto", "url": f"{APP}/spa/inbox"}, {"action": "assert_title", "value": "Inbox"}]},
    {"kind": "browser", "name": "settings", "actions": SPA_ROUTES},
]  # fmt: skip
VARIABLES = {"user": USER, "password": PASSWORD}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class Unaccounted(Exception):
    """The run cannot vouch for a run it would report."""


@dataclass
class Result:
    system: str
    pages: int
    runs: list[float]  # seconds, each run start → end
    wall: float

    @property
    def steps_per_second(self) -> float:
        return len(self.runs) * len(STEPS) / self.wall

    def row(self) -> list[object]:
        return [
            self.system, self.pages, len(self.runs), len(self.runs) * len(STEPS), f"{self.wall:.1f}",
            f"{self.steps_per_second:.2f}", f"{percentile(self.runs, 50):.2f}", f"{percentile(self.runs, 95):.2f}",
        ]  # fmt: skip


def _sign_ins(internet: Internet) -> int:
    return sum(1 for hit in internet.hits_to("app.test") if hit.method == "POST" and hit.path == "/session")


async def platform(
    api: httpx.AsyncClient, pool: asyncpg.Pool, internet: Internet, env: dict[str, str], logs: Path, pages: int,
    count: int, timeout: float,
) -> Result:  # fmt: skip
    log = logs / f"worker-{pages}.log"
    async with process_tree(WORKER, env | {"SCANFLEET_BROWSER_WORKER_PAGES": str(pages)}, log, ROOT):
        await wait_started([log])
        await _runs(api, pool, internet, log, pages, timeout)  # the browser launches with the first
        rows = await _runs(api, pool, internet, log, count, timeout)
    return Result(
        "scanfleet", pages, [(row["finished_at"] - row["started_at"]).total_seconds() for row in rows],
        (max(row["finished_at"] for row in rows) - min(row["created_at"] for row in rows)).total_seconds(),
    )  # fmt: skip


async def _runs(
    api: httpx.AsyncClient, pool: asyncpg.Pool, internet: Internet, log: Path, count: int, timeout: float
) -> list[asyncpg.Record]:
    signed_in = _sign_ins(internet)
    answers = await asyncio.gather(
        *(
            api.post("/v1/runs", json={"name": f"bench {n}", "variables": VARIABLES, "steps": STEPS})
            for n in range(count)
        )
    )
    for answer in answers:
        if answer.status_code != 202:
            raise RuntimeError(f"POST /v1/runs answered {answer.status_code}: {answer.text}")
    ids = [uuid.UUID(answer.json()["id"]) for answer in answers]
    deadline = time.monotonic() + timeout
    finished = "SELECT count(*) FROM scans WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL"
    while (done := await pool.fetchval(finished, ids)) < count:
        if time.monotonic() > deadline:
            raise Unaccounted(f"only {done} of {count} runs finished within {timeout:g} s")
        await asyncio.sleep(0.05)
    rows = await pool.fetch(
        "SELECT s.id, s.engine, s.status, s.verdict, s.created_at, s.started_at, s.finished_at,"
        " (SELECT count(*) FROM evidence e WHERE e.scan_id = s.id AND e.kind = 'check_step') AS steps"
        " FROM scans s WHERE s.id = ANY($1::uuid[])",
        ids,
    )
    bad = [row for row in rows if (row["engine"], row["status"], row["verdict"], row["steps"]) != (
        "browser", "succeeded", "passed", len(STEPS))]  # fmt: skip
    if len(rows) != count or bad:
        example = dict(bad[0]) if bad else "missing rows"
        raise Unaccounted(f"{len(bad)} of {count} runs did not pass all {len(STEPS)} browser steps, e.g. {example}")
    not_ours = {str(run) for run in ids} - await asyncio.to_thread(finished_in, log)
    if not_ours:
        raise Unaccounted(f"{len(not_ours)} of {count} runs were not finished by this run's worker")
    if _sign_ins(internet) - signed_in < count:
        raise Unaccounted(f"the login app saw {_sign_ins(internet) - signed_in} sign-ins for {count} runs")
    return rows


# --- the baseline: the same actions in plain Playwright ---


async def baseline(browser: Browser, internet: Internet, pages: int, count: int) -> Result:
    waiting = iter(range(count))
    durations: list[float] = []
    signed_in = _sign_ins(internet)

    async def loop() -> None:
        for _ in waiting:
            started = time.perf_counter()
            context = await browser.new_context(ignore_https_errors=True)
            try:
                page, variables = await context.new_page(), dict(VARIABLES)
                for step in STEPS:
                    for action in step["actions"]:
                        await _act(page, action, variables)
            finally:
                await context.close()
            durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(pages)))
    wall = time.perf_counter() - started
    if len(durations) != count or _sign_ins(internet) - signed_in < count:
        raise Unaccounted(f"baseline: {len(durations)} of {count} runs, {_sign_ins(internet) - signed_in} sign-ins")
    return Result("baseline", pages, durations, wall)


async def _act(page: Page, action: dict[str, Any], variables: dict[str, str]) -> None:
    """One action as a Playwright user writes it (5 s per action, as the steps' default)."""
    kind = action["action"]
    fields = {key: _PLACEHOLDER.sub(lambda m: variables[m[1]], value) if isinstance(value, str) else value
              for key, value in action.items()}  # fmt: skip
    locator = page.locator(fields["selector"]) if "selector" in fields else None
    ms = 5000
    if kind == "goto":
        await page.goto(fields["url"], timeout=ms)
    elif kind == "fill":
        await locator.fill(fields["value"], timeout=ms)  # type: ignore[union-attr]
    elif kind == "select":
        await locator.select_option(fields["value"], timeout=ms)  # type: ignore[union-attr]
    elif kind == "check":
        await locator.set_checked(True, timeout=ms)  # type: ignore[union-attr]
    elif kind == "hover":
        await locator.hover(timeout=ms)  # type: ignore[union-attr]
    elif kind == "click":
        await locator.click(timeout=ms)  # type: ignore[union-attr]
    elif kind == "wait_for" and "url" in fields:
        await page.wait_for_url(fields["url"], timeout=ms)
    elif kind == "wait_for":
        await locator.first.wait_for(timeout=ms)  # type: ignore[union-attr]
    elif kind == "assert_text":
        text = fields["value"]
        check = expect(locator.first)  # type: ignore[union-attr]
        await (check.to_have_text(text) if fields.get("operator") == "equals" else check.to_contain_text(text))
    elif kind == "assert_count":
        await expect(locator).to_have_count(fields["value"])  # type: ignore[arg-type]
    elif kind == "assert_attribute":
        await expect(locator).to_have_attribute(fields["name"], re.compile(re.escape(fields["value"])))  # type: ignore[arg-type]
    elif kind == "assert_title":
        title = fields["value"]
        await expect(page).to_have_title(title if fields.get("operator") == "equals" else re.compile(re.escape(title)))
    elif kind == "assert_url":
        await expect(page).to_have_url(re.compile(fields["value"]))
    elif kind == "extract":
        value = await locator.first.get_attribute(fields["attribute"], timeout=ms)  # type: ignore[union-attr]
        variables[fields["name"]] = value or ""
    else:
        raise ValueError(f"the baseline has no {kind}")


async def measure(
    args: argparse.Namespace, settings: Settings, internet: Internet, ca_file: Path, logs: Path
) -> list[Result]:
    pool = await create_pool(settings)
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith("SCANFLEET_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env = inherited | {
        "PYTHONPATH": str(ROOT), "DATABASE_URL": settings.database_url or "", "REDIS_URL": settings.redis_url or "",
        "SCANFLEET_WORKER_ENGINE": "browser", "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
        "SCANFLEET_FETCH_RESOLVE": internet.resolve, "SCANFLEET_FETCH_CA_FILE": str(ca_file),
        "SCANFLEET_WORKER_METRICS_PORT": "0", "SCANFLEET_WORKER_POLL_DELAY_SECONDS": "0.01",
    }  # fmt: skip
    results: list[Result] = []
    print(f"{args.runs} runs of {len(STEPS)} browser steps (22 actions) per line, all submitted at once\n", flush=True)
    try:
        async with bench_api(settings, pool, TIER) as (api, _), async_playwright() as playwright:
            rules = f"MAP * 127.0.0.1:{internet.https_port}"
            browser = await playwright.chromium.launch(
                executable_path=find_executable(None), args=[f"--host-resolver-rules={rules}"]
            )
            try:
                for pages in args.pages:
                    for system in ("scanfleet", "baseline"):
                        started = time.monotonic()
                        if system == "scanfleet":
                            result = await platform(api, pool, internet, env, logs, pages, args.runs, args.timeout)
                        else:
                            await baseline(browser, internet, pages, pages)  # warm, as the worker is
                            result = await baseline(browser, internet, pages, args.runs)
                        print(f"  {system} pages={pages}: {time.monotonic() - started:.0f} s", flush=True)
                        results.append(result)
            finally:
                await browser.close()
    finally:
        await pool.close()
    return results


def report(results: list[Result]) -> None:
    header = ["system", "pages", "runs", "steps", "wall s", "steps/s", "run p50 s", "run p95 s"]
    print("\nbrowser steps per second of one browser worker (run: its start → its end)")
    print(table(header, [result.row() for result in results]))
    by = {(result.system, result.pages): result for result in results}
    shares = [
        f"pages={pages}: {by['scanfleet', pages].steps_per_second / by['baseline', pages].steps_per_second:.2f}"
        for pages in sorted({result.pages for result in results})
        if ("scanfleet", pages) in by and ("baseline", pages) in by
    ]
    print(f"\nscanfleet/baseline steps/s: {', '.join(shares)}")


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    base = Settings(db_pool_max_size=10, worker_metrics_port=0)
    async with postgres_and_valkey("bench-steps-", base) as (settings, logs):
        ca = trustme.CA()
        ca_file = logs / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        with Internet(ca, HOSTS) as internet:
            build_apps(internet)
            results = await measure(args, settings, internet, ca_file, logs)
        report(results)


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--pages", type=comma_list(int), default=[1, 2], help="runs at once (default 1,2)")
    parser.add_argument("--runs", type=int, default=12, help="runs per line (default 12)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a line may take before failing")
    args = parser.parse_args()
    if not 1 <= args.runs <= BROWSER_IN_FLIGHT:
        parser.error(f"--runs: 1 to {BROWSER_IN_FLIGHT}, the browser jobs a {TIER} organisation may have in flight")
    if min(args.pages) < 1:
        parser.error("--pages: at least 1")
    return args


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except Unaccounted as exc:
        sys.exit(f"bench.browser_steps: nothing reported, a run is not accounted for: {exc}")
