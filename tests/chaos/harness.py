"""One chaos run: own servers, targets and processes; a steady stream; the faults in order; the checks.

report = await run_chaos(SHORT, workdir)   # or FULL; print(report.table())
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis

from scanfleet.broker.decode import reply
from scanfleet.config import Settings
from scanfleet.db.pool import create_pool
from scanfleet.embedded import free_port
from tests.chaos.checks import settle, verify
from tests.chaos.config import ChaosConfig
from tests.chaos.faults import FaultResult, Faults, probe, wall_clock
from tests.chaos.fleet import Fleet
from tests.chaos.load import Ledger, Stream, Tenant, create_tenant
from tests.chaos.report import Report
from tests.chaos.servers import ChaosServers
from tests.chaos.targets import Targets


async def run_chaos(config: ChaosConfig, workdir: Path) -> Report:
    began = time.monotonic()
    servers = ChaosServers(workdir / "servers")
    fleet: Fleet | None = None
    try:
        settings = await _start_servers(servers)
        port = free_port()
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        fleet = Fleet(workdir / "logs", _environment(config, servers, port))
        with Targets() as targets:
            pool = await create_pool(settings)
            try:
                tenants = [(await create_tenant(pool, plan.tier, f"{plan.tier}{n}"), plan)
                           for n, plan in enumerate(config.orgs)]  # fmt: skip
                prober = await create_tenant(pool, "enterprise", "probe")
            finally:
                await pool.close()  # the faults cut its connections; the checks open a fresh one
            await fleet.start(config.workers)
            ledger = Ledger()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
                await _ready(client, fleet)
                phases = {"start": time.monotonic() - began}
                stream = Stream(client, ledger, targets.urls, config)
                stream.start(tenants)
                try:
                    await asyncio.sleep(config.warmup_seconds)  # load builds up before the first fault
                    faults = await _inflict(Faults(servers, fleet, config), client, ledger, prober, targets, config)
                finally:
                    await stream.stop()
                phases["stream and faults"] = time.monotonic() - began - phases["start"]
                report = await _check(config, settings, fleet, ledger, faults, began)
                report.phases = phases | {"settle": report.settle_seconds}
                return report
    finally:
        if fleet is not None:
            await fleet.stop()
        servers.stop()


async def _start_servers(servers: ChaosServers) -> Settings:
    """The harness's own settings: short connect timeouts, a small pool, the run's servers."""
    settings = Settings(_env_file=None, db_connect_timeout_seconds=2, db_pool_max_size=4)
    await servers.start(settings)
    return settings.model_copy(update={"database_url": servers.database_url, "redis_url": servers.redis_url})


def _environment(config: ChaosConfig, servers: ChaosServers, api_port: int) -> dict[str, str]:
    """Every process's environment: the run's servers only (no replica or Sentinel from the caller's)."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_READ_URL", "SCANFLEET_REDIS_SENTINELS")}
    return (
        inherited
        | config.platform
        | {
            "DATABASE_URL": servers.database_url,
            "REDIS_URL": servers.redis_url,
            "SCANFLEET_API_HOST": "127.0.0.1",
            "SCANFLEET_API_PORT": str(api_port),
        }
    )


async def _ready(client: httpx.AsyncClient, fleet: Fleet, deadline: float = 60) -> None:
    """The API answers /readyz and every worker has started its loop."""
    until = time.monotonic() + deadline
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/readyz")).status_code == 200 and all(
                "Starting worker" in worker.log_path.read_text(errors="replace") for worker in fleet.workers
            ):
                return
        if time.monotonic() > until:
            raise RuntimeError(f"the platform did not come up within {deadline:g} s; logs in {fleet.log_dir}")
        await asyncio.sleep(0.1)


async def _inflict(faults: Faults, client: httpx.AsyncClient, ledger: Ledger, prober: Tenant, targets: Targets,
                   config: ChaosConfig) -> list[FaultResult]:  # fmt: skip
    results = []
    for name, fault in faults.plan():
        result = await fault()
        result.name = name
        result.notes.append(f"from {wall_clock(result.started)} to {wall_clock(result.ended)} UTC")
        result.recovered_in, result.probe = await probe(
            client, ledger, prober, targets.urls, result.ended, config.recover_deadline_seconds
        )
        results.append(result)
        await asyncio.sleep(config.dwell_seconds)  # load between faults, so each one hits a busy fleet
    return results


async def _check(config: ChaosConfig, settings: Settings, fleet: Fleet, ledger: Ledger,
                 faults: list[FaultResult], began: float) -> Report:  # fmt: skip
    pool = await create_pool(settings)
    redis = Redis.from_url(str(settings.redis_url))
    try:
        settle_seconds, settled = await settle(pool, redis, config.settle_deadline_seconds)
        tries = int(config.platform.get("SCANFLEET_JOB_MAX_TRIES", settings.job_max_tries))
        retries = int(config.platform.get("SCANFLEET_RETRY_MAX_PRIVACY", settings.retry_max_privacy))
        # Deliveries cut short by a kill or a roll come on top of the tries and retries a scan may use.
        max_attempts = tries + retries + config.kills + config.rolls
        in_hand = set().union(*(fault.in_hand for fault in faults))
        verdict = await verify(pool, redis, ledger, max_attempts, in_hand)
        report = Report(config.name, config.workers, ledger, faults, verdict, settled, settle_seconds,
                        list(fleet.exits), time.monotonic() - began)  # fmt: skip
        report.diagnostics = await _diagnose(pool, redis, fleet, report)
        return report
    finally:
        await redis.aclose()
        await pool.close()


async def _diagnose(pool: asyncpg.Pool, redis: Redis, fleet: Fleet, report: Report, limit: int = 8) -> list[str]:
    """For the first few problem scans: the row, the gate's view, and every log line naming the job."""
    scan_ids = [problem.scan_id for problem in report.verdict.problems if problem.scan_id][:limit]
    lines: list[str] = []
    for scan_id in dict.fromkeys(scan_ids):
        job = f"job:{scan_id}"
        row = await pool.fetchrow(
            "SELECT status, attempts, error_code, error_message, started_at, finished_at, lease_until, url"
            " FROM scans WHERE id = $1", scan_id,
        )  # fmt: skip
        gate = await reply(redis.hgetall(f"sf:gate:job:{job}"))
        lines.append(f"-- {job}: {dict(row) if row else 'no row'}; gate {_decoded(gate) or 'none'}")
        for process in fleet.all():
            for line in process.log_path.read_text(errors="replace").splitlines():
                if str(scan_id) in line:
                    lines.append(f"   [{process.name}] {line[:300]}")
    return lines


def _decoded(mapping: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode(errors="replace")[:60] for k, v in mapping.items() if k != b"payload"}


def workdir_for(base: Path | None) -> Path:
    """A directory of its own per run (servers' data and every process's log)."""
    root = base or Path(os.environ.get("TMPDIR", "/tmp"))  # noqa: S108 - the system's temp dir
    path = root / f"scanfleet-chaos-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path
