"""Schedules: the API's rules, and firing — exactly once across schedulers, one catch-up, through the gate."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import BROWSER_GATE
from scanfleet.db import orgs, schedules
from scanfleet.db.store import PgJobStore
from scanfleet.lifecycle import Lifecycle
from scanfleet.scheduler import firing
from scanfleet.schedules.timing import Timing
from tests.conftest import Tenant, make_tenant
from tests.support.app import lifecycle

ZONE = ZoneInfo("Europe/Berlin")


async def due_schedule(pool: asyncpg.Pool, tenant: Tenant, ago: timedelta, kind: str = "privacy") -> uuid.UUID:
    target = {"url": f"http://127.0.0.1:9/{uuid.uuid4().hex}"} if kind == "privacy" else {
        "name": "ping", "variables": {}, "steps": [{"kind": "tcp", "host": "127.0.0.1", "port": 9}]}  # fmt: skip
    schedule = await schedules.create(
        pool,
        tenant.org.id,
        "nightly",
        kind,
        target,
        Timing(interval_seconds=3600),
        datetime.now(UTC),
        tenant.org.limits.max_schedules,
    )
    assert schedule is not None
    await pool.execute("UPDATE schedules SET next_fire_at = now() - $2::interval WHERE id = $1", schedule.id, ago)
    return schedule.id


async def fires_of(pool: asyncpg.Pool, schedule_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM schedule_fires WHERE schedule_id = $1", schedule_id)


async def test_two_schedulers_fire_a_due_schedule_exactly_once(pool: asyncpg.Pool, gate: Gate, tenant: Tenant) -> None:
    schedule_id = await due_schedule(pool, tenant, timedelta(seconds=5))
    await asyncio.gather(firing.fire_due(pool, lifecycle(pool, gate)), firing.fire_due(pool, lifecycle(pool, gate)))
    [fire] = await fires_of(pool, schedule_id)
    assert fire["outcome"] == "accepted" and fire["job_id"] is not None
    jobs_made = await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", tenant.org.id)
    assert jobs_made == 1
    assert await gate.states([f"job:{fire['job_id']}"]) == ["dispatched"]


async def test_after_downtime_one_catch_up_then_back_on_time(pool: asyncpg.Pool, gate: Gate, tenant: Tenant) -> None:
    schedule_id = await due_schedule(pool, tenant, timedelta(hours=10))  # ten fires missed
    await firing.fire_due(pool, lifecycle(pool, gate))
    await firing.fire_due(pool, lifecycle(pool, gate))
    assert len(await fires_of(pool, schedule_id)) == 1
    schedule = await schedules.get(pool, tenant.org.id, schedule_id)
    assert schedule is not None and schedule.next_fire_at is not None
    assert timedelta(minutes=59) < schedule.next_fire_at - datetime.now(UTC) <= timedelta(hours=1)


async def test_a_fire_refused_for_capacity_is_recorded_not_dropped(pool: asyncpg.Pool, gate: Gate) -> None:
    tenant = await make_tenant(pool)
    await orgs.set_capacity(pool, tenant.org.id, "pro", 0, 0)
    schedule_id = await due_schedule(pool, tenant, timedelta(seconds=5))
    counts = await firing.fire_due(pool, lifecycle(pool, gate))
    assert counts["rejected"] >= 1
    [fire] = await fires_of(pool, schedule_id)
    assert fire["outcome"] == "rejected" and fire["job_id"] is None
    schedule = await schedules.get(pool, tenant.org.id, schedule_id)
    assert schedule is not None and (schedule.last_outcome, schedule.rejected_fires) == ("rejected", 1)
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", tenant.org.id) == 0


async def test_a_fire_while_the_last_scan_still_runs_reuses_it(pool: asyncpg.Pool, gate: Gate, tenant: Tenant) -> None:
    schedule_id = await due_schedule(pool, tenant, timedelta(seconds=5))
    await firing.fire_due(pool, lifecycle(pool, gate))
    await pool.execute("UPDATE schedules SET next_fire_at = now() - interval '1 second' WHERE id = $1", schedule_id)
    await firing.fire_due(pool, lifecycle(pool, gate))
    outcomes = sorted(fire["outcome"] for fire in await fires_of(pool, schedule_id))
    assert outcomes == ["accepted", "reused"]


async def test_run_schedules_fire_test_runs(pool: asyncpg.Pool, gate: Gate, tenant: Tenant) -> None:
    schedule_id = await due_schedule(pool, tenant, timedelta(seconds=5), kind="checks")
    await firing.fire_due(pool, lifecycle(pool, gate))
    [fire] = await fires_of(pool, schedule_id)
    kind = await pool.fetchval("SELECT kind FROM scans WHERE id = $1", fire["job_id"])
    assert kind == "checks"


async def test_a_run_schedule_with_a_browser_step_fires_into_the_browser_line(
    pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    suite = {"name": "sign in", "variables": {}, "steps": [
        {"kind": "browser", "actions": [{"action": "goto", "url": "https://app.example/login"}]}]}  # fmt: skip
    schedule = await schedules.create(
        pool, tenant.org.id, "browser", "checks", suite, Timing(interval_seconds=3600), datetime.now(UTC),
        tenant.org.limits.max_schedules,
    )  # fmt: skip
    assert schedule is not None
    await pool.execute("UPDATE schedules SET next_fire_at = now() - interval '5 seconds' WHERE id = $1", schedule.id)
    browser_gate = Gate(gate.redis, BROWSER_GATE)
    await firing.fire_due(pool, Lifecycle(PgJobStore(pool), gate, browser_gate=browser_gate))
    [fire] = await fires_of(pool, schedule.id)
    assert await pool.fetchval("SELECT engine FROM scans WHERE id = $1", fire["job_id"]) == "browser"
    usage = await browser_gate.usage(tenant.org.id)
    assert usage.running + usage.queued == 1, usage


async def test_schedule_api_rules(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant) -> None:
    base = {"name": "home page", "kind": "scan", "url": "https://example.com/"}
    created = await api.post("/v1/schedules", json=base | {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin",
                                                            "jitter_seconds": 30}, headers=tenant.headers)  # fmt: skip
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["state"] == "active" and len(schedule["upcoming"]) == 5
    assert all(datetime.fromisoformat(t).astimezone(ZONE).hour == 9 for t in schedule["upcoming"])

    for body, field, rule in [
        (base | {"cron": "0 25 * * *"}, "cron", "cron_invalid"),
        (base | {"cron": "0 9 * * *", "timezone": "Nowhere/City"}, "timezone", "timezone_unknown"),
        (base | {"interval_seconds": 60}, "interval_seconds", "interval_too_short"),  # pro: every 300 s at most
        (base | {"interval_seconds": 3600, "url": "ftp://x/"}, "url", "url_scheme"),
        ({"name": "r", "kind": "run", "interval_seconds": 3600, "suite": {"steps": [{"kind": "smtp"}]}},
         "suite.steps.0.kind", "unknown_step_kind"),
    ]:  # fmt: skip
        refused = await api.post("/v1/schedules", json=body, headers=tenant.headers)
        assert refused.status_code == 422, (body, refused.text)
        assert (refused.json()["error"]["fields"][0]["field"], refused.json()["error"]["fields"][0]["rule"]) == (
            field, rule,
        )  # fmt: skip

    path = f"/v1/schedules/{schedule['id']}"
    paused = (await api.post(f"{path}/pause", headers=tenant.headers)).json()
    assert paused["state"] == "paused" and paused["next_fire_at"] is None and paused["upcoming"] == []
    resumed = (await api.post(f"{path}/resume", headers=tenant.headers)).json()
    assert resumed["state"] == "active" and resumed["next_fire_at"] is not None
    changed = (await api.patch(path, json={"interval_seconds": 7200}, headers=tenant.headers)).json()
    assert (changed["cron"], changed["interval_seconds"]) == (None, 7200)
    other = await make_tenant(pool)
    assert (await api.get(path, headers=other.headers)).status_code == 404
    assert (await api.delete(path, headers=tenant.headers)).status_code == 204
    assert (await api.get(path, headers=tenant.headers)).status_code == 404


async def test_free_tier_schedule_count_is_limited(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool, "free")
    body = {"name": "s", "kind": "scan", "url": "https://example.com/", "interval_seconds": 3600}
    answers = [(await api.post("/v1/schedules", json=body, headers=tenant.headers)).status_code for _ in range(6)]
    assert answers == [201] * 5 + [422]


async def test_concurrent_creations_cannot_pass_the_schedule_limit_together(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool, "free")  # 5 schedules
    body = {"name": "s", "kind": "scan", "url": "https://example.com/", "interval_seconds": 3600}
    answers = await asyncio.gather(*(api.post("/v1/schedules", json=body, headers=tenant.headers) for _ in range(8)))
    assert sorted(answer.status_code for answer in answers) == [201] * 5 + [422] * 3
    assert await pool.fetchval("SELECT count(*) FROM schedules WHERE org_id = $1", tenant.org.id) == 5


async def test_a_schedule_whose_row_cannot_fire_is_paused_and_the_others_fire(pool: asyncpg.Pool, gate: Gate) -> None:
    tenant = await make_tenant(pool)
    healthy = await due_schedule(pool, tenant, timedelta(minutes=1))
    poisoned = await due_schedule(pool, tenant, timedelta(minutes=2))
    await pool.execute("UPDATE schedules SET target = '{}'::jsonb WHERE id = $1", poisoned)  # no URL: no job
    counts = await firing.fire_due(pool, lifecycle(pool, gate))
    assert counts["accepted"] >= 1 and counts["error"] >= 1
    assert [fire["outcome"] for fire in await fires_of(pool, healthy)] == ["accepted"]
    state = await pool.fetchrow("SELECT state, last_outcome FROM schedules WHERE id = $1", poisoned)
    assert state is not None
    assert (state["state"], state["last_outcome"]) == ("paused", "error")
    assert await fires_of(pool, poisoned) == []
    assert (await firing.fire_due(pool, lifecycle(pool, gate)))["error"] == 0  # paused: no longer in every round
