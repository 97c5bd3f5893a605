"""The arq worker, configured from Settings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
from arq import Worker, func

from scanfleet import jobs
from scanfleet.config import Settings
from scanfleet.db import heartbeats
from scanfleet.db.pool import create_pool
from scanfleet.gate.gate import Gate
from scanfleet.http import AddressPolicy, FetchLimits, GuardedBackend, SafeFetcher, client_ssl_context, guarded_client
from worker.checks import CheckEnv
from worker.tasks import Deps, run_checks, run_scan
from worker.wake import wake_on_dispatch


def checks_for(settings: Settings, pool: asyncpg.Pool) -> Callable[[uuid.UUID], CheckEnv]:
    """One guarded client per process for every run; heartbeats looked up within the run's organisation."""
    policy = AddressPolicy(tuple(settings.fetch_allow_networks))
    context = client_ssl_context(settings.fetch_ca_file)
    timeout = httpx.Timeout(settings.fetch_read_timeout_seconds, connect=settings.fetch_connect_timeout_seconds)
    client = guarded_client(policy, context, timeout)
    backend = GuardedBackend(policy)
    # TLS steps verify the chain but leave the hostname to their cert_hostname assertion.
    tls_steps = client_ssl_context(settings.fetch_ca_file)
    tls_steps.check_hostname = False

    def for_org(org_id: uuid.UUID) -> CheckEnv:
        return CheckEnv(
            client=client, backend=backend, ssl_context=tls_steps,
            heartbeat=lambda beat: heartbeats.state(pool, org_id, beat), max_body_bytes=settings.fetch_max_bytes,
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
    return SafeFetcher(
        limits, AddressPolicy(tuple(settings.fetch_allow_networks)), client_ssl_context(settings.fetch_ca_file)
    )


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        pool = await create_pool(settings)
        gate = Gate(ctx["redis"])
        ctx["deps"] = Deps(
            settings=settings, pool=pool, fetcher=fetcher_for(settings), gate=gate, checks=checks_for(settings, pool)
        )
        ctx["wake"] = asyncio.create_task(wake_on_dispatch(worker, gate))

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "wake" in ctx:
            ctx["wake"].cancel()
        deps: Deps | None = ctx.get("deps")
        if deps is not None:
            await deps.fetcher.aclose()
            await deps.pool.close()

    options: dict[str, Any] = {
        "functions": [
            func(run_scan, name=jobs.RUN_SCAN, timeout=settings.scan_timeout_seconds + 15),
            func(run_checks, name=jobs.RUN_CHECKS, timeout=settings.run_timeout_seconds + 15),
        ],
        "redis_settings": jobs.redis_settings(settings),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay_seconds,
        "max_tries": settings.job_max_tries,
        "keep_result": 60,
        "allow_abort_jobs": True,  # DELETE /v1/scans/{id} on a running scan
        "handle_signals": True,
    }
    options.update(overrides)
    worker = Worker(**options)
    return worker
