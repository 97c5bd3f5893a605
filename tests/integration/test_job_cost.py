"""What one privacy scan costs Redis and PostgreSQL, from POST /v1/scans to its webhook event in the outbox, step
by step: the real API and a real worker in this event loop, the session's PostgreSQL, a Valkey of the test's own
(MONITOR sees every command there, and no other test's dispatch wakes this worker). README's table under
"Cost of one scan" shows the same numbers; a step that costs more (or less) fails here until both are updated.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from arq.constants import result_key_prefix
from redis.asyncio import Redis

from scanfleet.breakers import SharedBreakers
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import job_id
from scanfleet.broker.worker import FleetWorker
from scanfleet.config import Settings
from scanfleet.db import scans, webhooks
from scanfleet.db.store import PgJobStore
from scanfleet.embedded import EmbeddedValkey
from scanfleet.lifecycle import Lifecycle
from scanfleet.model import Status
from scanfleet.worker import tasks
from tests.conftest import Tenant, make_tenant
from tests.support.app import api_client, running_worker
from tests.support.costs import Meter, Monitor, metered
from tests.support.site import FixtureSite, eventually, html
from tests.support.wakeups import waiting_for_wakeups

README = Path(__file__).resolve().parents[2] / "README.md"
PAGE = html(
    "<html><head><title>Shop</title><script src='https://www.googletagmanager.com/gtm.js?id=GTM-1'></script>"
    "</head><body><img src='https://connect.facebook.net/tr?id=1'><form action='http://pay.example/'>"
    "<input name='card'></form></body></html>",
    ("Set-Cookie", "session=abc; Path=/"),
)

# (Redis commands, Redis round trips, commands inside Lua scripts, PostgreSQL round trips)
EXPECTED: dict[str, tuple[int, int, int, int]] = {
    "submit": (1, 1, 3, 1),
    "admission": (1, 1, 18, 0),
    "wake-up poll": (1, 1, 10, 0),
    "arq takes the job": (6, 1, 0, 0),
    "claim": (1, 1, 4, 1),
    "breaker read": (1, 1, 0, 0),
    "rest of the task": (0, 0, 0, 0),
    "breaker record": (0, 0, 0, 0),
    "circuit wake-ups": (0, 0, 0, 0),
    "finish": (0, 0, 0, 1),
    "gate finish": (1, 1, 15, 0),
    "arq ends the job": (6, 1, 0, 0),
}


def label_steps(meter: Meter) -> None:
    """Each step of one scan's path, where its code is. The API request as a whole is `submit` (the test's)."""
    meter.label(Gate, "admit", "admission")
    # Timed polls are an hour apart here: every poll is the one a dispatch's wake-up message asked for.
    meter.label(FleetWorker, "_woken_look", "wake-up poll")
    meter.label(FleetWorker, "run_job", "arq takes the job")  # reading the job's body, counting its try
    meter.label(tasks, "perform", "rest of the task")
    meter.label(Gate, "start", "claim")
    meter.label(PgJobStore, "claim", "claim")
    meter.label(SharedBreakers, "read_together", "breaker read")
    meter.label(SharedBreakers, "admit", "breaker read")
    meter.label(SharedBreakers, "record", "breaker record")
    meter.label(PgJobStore, "record", "finish")
    meter.label(Gate, "finish", "gate finish")
    meter.label(Lifecycle, "wake", "circuit wake-ups")
    meter.label(FleetWorker, "finish_job", "arq ends the job")


async def test_one_scan_costs_what_readme_says(
    monkeypatch: pytest.MonkeyPatch,
    pool: asyncpg.Pool,
    settings: Settings,
    site: FixtureSite,
    own_valkey: EmbeddedValkey,
) -> None:
    # A key allowed under 200 requests a minute takes each request from the shared allowance: a busier one takes
    # a batch a round trip, so how many of its requests pay for it depends on what came before.
    tenant = await make_tenant(pool, "free")
    own = settings.model_copy(
        update={
            "redis_url": own_valkey.url(),
            "worker_poll_delay_seconds": 3600.0,
            # One connection each: after the first scan every statement is prepared on it, as on a warm pool.
            "db_pool_min_size": 1,
            "db_pool_max_size": 1,
        }
    )
    created = await webhooks.create(pool, tenant.org.id, "https://hooks.example/", "", ["scan.completed"])
    assert created is not None
    redis = await connection.connect(own)
    try:
        async with Monitor(own_valkey.url()) as monitor, metered(monkeypatch) as meter:
            label_steps(meter)
            async with api_client(own) as api, running_worker(own):
                await eventually(lambda: waiting_for_wakeups(redis, own))
                scan = Scan(api, pool, redis, tenant, site)
                await scan.run()  # warm: scripts loaded, statements prepared, the key's use recorded
                async with meter.window(monitor):
                    scan_id = await scan.run(meter)
        assert await pool.fetchval("SELECT count(*) FROM webhook_events WHERE scan_id = $1", scan_id) == 1
        measured = meter.table(list(EXPECTED))
        assert measured == {**EXPECTED, "total": measured["total"]}, _readable(measured, meter)
        assert readme_table() == measured
    finally:
        await webhooks.delete(pool, tenant.org.id, created[0].id)
        await redis.aclose()


@dataclass
class Scan:
    api: httpx.AsyncClient
    pool: asyncpg.Pool
    redis: Redis
    tenant: Tenant
    site: FixtureSite

    async def run(self, meter: Meter | None = None) -> uuid.UUID:
        """One scan of a page of its own through the API, until it succeeded and arq has stored its result."""
        url = self.site.add(f"/cost-{uuid.uuid4().hex[:8]}", PAGE)
        with meter.step("submit") if meter else contextlib.nullcontext():
            response = await self.api.post("/v1/scans", json={"url": url}, headers=self.tenant.headers)
        assert response.status_code == 202, response.text
        scan_id = uuid.UUID(response.json()["id"])

        async def stored() -> bool:
            return bool(await self.redis.exists(result_key_prefix + job_id(scan_id)))

        await eventually(stored)
        assert (await scans.statuses(self.pool, [scan_id]))[scan_id] is Status.SUCCEEDED
        return scan_id


def readme_table() -> dict[str, tuple[int, ...]]:
    """README's cost table: each row's step (first cell) and its last four cells, as numbers."""
    section = README.read_text().split("### Cost of one scan", 1)[1].split("\n#", 1)[0]
    rows: dict[str, tuple[int, ...]] = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("*") for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[-1].isdigit():
            rows[cells[0]] = tuple(int(cell) for cell in cells[-4:])
    return rows


def _readable(measured: Mapping[str, tuple[int, ...]], meter: Meter) -> str:
    lines = [f"{step}: {row}" for step, row in measured.items()]
    lines += [f"  {step}: {sql[:100]}" for step, sql in meter.statements]
    return "measured (Redis commands, round trips, in Lua, PostgreSQL round trips):\n" + "\n".join(lines)
