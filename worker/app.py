"""The arq worker, configured from Settings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from scanfleet import heap
from scanfleet.artifacts import open_store
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.breakers import SharedBreakers
from scanfleet.broker import connection
from scanfleet.broker import jobs as broker_jobs
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import BROWSER_GATE, BROWSER_WORKERS, WORKERS, GateKeys
from scanfleet.broker.worker import REDIS_DOWN, FleetWorker, announce, task, worker_name
from scanfleet.config import Settings
from scanfleet.db import heartbeats
from scanfleet.db.pool import create_pool
from scanfleet.db.store import PgJobStore
from scanfleet.http import AddressPolicy, FetchLimits, GuardedBackend, SafeFetcher, client_ssl_context, guarded_client
from scanfleet.lifecycle import Lifecycle
from scanfleet.retry import RetryPolicy
from scanfleet.worker.browser import BrowserRuntime, runtime_for
from scanfleet.worker.browser import limits_for as browser_limits
from scanfleet.worker.checks import CheckEnv
from scanfleet.worker.outage import OutageGuard, pause_while_down
from scanfleet.worker.tasks import Deps, browser_seconds, run_browser_scan, run_checks, run_scan

_UNLIMITED = 1_000_000


def checks_for(
    settings: Settings, pool: asyncpg.Pool, browser: BrowserRuntime | None = None
) -> Callable[[uuid.UUID], CheckEnv]:
    """One guarded client per process for every run; heartbeats looked up within the run's organisation; on a
    browser worker, its browser for browser steps."""
    policy = AddressPolicy(tuple(settings.fetch_allow_networks))
    context = client_ssl_context(settings.fetch_ca_file)
    timeout = httpx.Timeout(settings.fetch_read_timeout_seconds, connect=settings.fetch_connect_timeout_seconds)
    client = guarded_client(policy, context, timeout, resolve_map=settings.fetch_resolve)
    backend = GuardedBackend(policy, settings.fetch_resolve)
    # TLS steps verify the chain but leave the hostname to their cert_hostname assertion.
    tls_steps = client_ssl_context(settings.fetch_ca_file)
    tls_steps.check_hostname = False
    limits = browser_limits(settings)

    def for_org(org_id: uuid.UUID) -> CheckEnv:
        return CheckEnv(
            client=client, backend=backend, ssl_context=tls_steps,
            heartbeat=lambda beat: heartbeats.state(pool, org_id, beat), max_body_bytes=settings.fetch_max_bytes,
            browser=browser, browse_limits=limits,
        )  # fmt: skip

    return for_org


def fetcher_for(settings: Settings) -> SafeFetcher:
    limits = FetchLimits(
        total_seconds=settings.scan_timeout_seconds,
        connect_seconds=settings.fetch_connect_timeout_seconds,
        read_seconds=settings.fetch_read_timeout_seconds,
        max_redirects=settings.fetch_max_redirects,
        max_bytes=settings.fetch_max_bytes,
        user_agent=settings.fetch_user_agent,
    )
    policy = AddressPolicy(tuple(settings.fetch_allow_networks))
    return SafeFetcher(limits, policy, client_ssl_context(settings.fetch_ca_file), settings.fetch_resolve)


def build_worker(settings: Settings, *, freeze_heap: bool = False, **overrides: Any) -> FleetWorker:
    """An http worker (privacy scans by the http engine, and test runs) or, with SCANFLEET_WORKER_ENGINE=browser,
    a browser worker: browser scans and test runs with browser steps from their own queue, one Chromium, a page
    per slot. `freeze_heap`: the worker is its process's own (`scanfleet.heap`), frozen once started."""
    browser = settings.worker_engine == "browser"
    # The gate of the line this worker takes jobs from (its queue, its wake-ups).
    line = BROWSER_GATE if browser else GateKeys()

    async def startup(ctx: dict[str, Any]) -> None:
        pool = await create_pool(settings, by_key=True)
        redis = ctx["redis"]
        gate, browser_gate = Gate(redis), Gate(redis, BROWSER_GATE)
        outage = OutageGuard(
            pool,
            SharedBreakers(redis, "postgres", settings.breaker_db_fail_max, settings.breaker_db_reset_seconds),
            settings.result_hold_seconds,
            settings.breaker_db_reset_seconds,
        )
        store = await open_store(settings)
        lifecycle = Lifecycle(
            PgJobStore(pool), gate, settings.lease_seconds, hold=outage.write, unreachable=REDIS_DOWN,
            browser_gate=browser_gate,
            artifacts=ArtifactWriter(store, settings.artifact_max_bytes, settings.artifact_job_max_bytes),
        )  # fmt: skip
        ctx["pool"], ctx["store"] = pool, store
        runtime = await _browser(settings) if browser else None
        ctx["deps"] = Deps(
            settings=settings, lifecycle=lifecycle, fetcher=fetcher_for(settings),
            checks=checks_for(settings, pool, runtime),
            targets=SharedBreakers(
                redis, "target", settings.breaker_fail_max, settings.breaker_reset_seconds,
                trial_seconds=settings.scan_timeout_seconds + 5,  # the trial is a whole scan
            ),
            outage=outage, retry=RetryPolicy.from_settings(settings),
            storage=SharedBreakers(
                redis, "storage", settings.breaker_storage_fail_max, settings.breaker_storage_reset_seconds
            ),
            browser=runtime,
        )  # fmt: skip
        worker.export_slots()
        if freeze_heap:
            heap.freeze()  # after startup, whose pools, clients and breakers live as long as the worker
        ctx["background"] = [
            asyncio.create_task(worker.wake_on_dispatch(redis, line)),
            asyncio.create_task(pause_while_down(worker, outage)),
            asyncio.create_task(announce(redis, worker_name(), BROWSER_WORKERS if browser else WORKERS)),
        ]

    async def shutdown(ctx: dict[str, Any]) -> None:
        for background in ctx.get("background", []):
            background.cancel()
        await asyncio.gather(*ctx.get("background", []), return_exceptions=True)
        deps: Deps | None = ctx.get("deps")
        if deps is not None:
            await deps.fetcher.aclose()
            if deps.browser is not None:
                await deps.browser.close()
            await ctx["store"].close()
            await ctx["pool"].close()

    hold = settings.result_hold_seconds + 15
    redis_settings = connection.redis_settings(settings)
    # Past its own time limit a job may still hold its result while PostgreSQL is away.
    functions = (
        [
            task(run_browser_scan, broker_jobs.RUN_BROWSER_SCAN, browser_seconds(settings) + hold),
            task(run_checks, broker_jobs.RUN_CHECKS, settings.run_timeout_seconds + hold),
        ]
        if browser
        else [
            task(run_scan, broker_jobs.RUN_SCAN, settings.scan_timeout_seconds + hold),
            task(run_checks, broker_jobs.RUN_CHECKS, settings.run_timeout_seconds + hold),
        ]
    )
    options: dict[str, Any] = {
        "functions": functions,
        "queue_name": line.queue,
        "line": line,
        "redis_settings": redis_settings,
        # arq's own Sentinel client would have no retry: a failover mid-command would crash the worker.
        "redis_pool": connection.sentinel_client(redis_settings) if settings.redis_sentinels else None,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.browser_worker_pages if browser else settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay_seconds,
        # Tries are counted in PostgreSQL (a deploy's hand-back must not use one, arq's count would);
        # arq's own limit only has to stay out of the way.
        "max_tries": _UNLIMITED,
        # SIGTERM: stop taking jobs, let running ones finish for this long, then hand the rest back.
        "job_completion_wait": settings.worker_grace_seconds,
        "keep_result": 60,
        "allow_abort_jobs": True,  # DELETE /v1/scans/{id} on a running scan
        "handle_signals": True,
    }
    options.update(overrides)
    worker = FleetWorker(**options)
    return worker


async def _browser(settings: Settings) -> BrowserRuntime:
    """The worker's browser runtime, started: Chromium itself launches with the first page (a missing one fails
    that page as browser_unavailable, and the worker goes on)."""
    runtime = runtime_for(settings)
    await runtime.start()
    return runtime
