"""Heartbeats over HTTP: create, ping by token, and a missed deadline becomes exactly one failed run."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import asyncpg
import httpx

from scanfleet.broker.gate import Gate
from scanfleet.db import heartbeats, scans
from scanfleet.model import Status
from scanfleet.scheduler import heartbeats as heartbeat_round
from tests.conftest import Tenant, make_tenant
from tests.support.app import lifecycle


async def test_ping_moves_the_deadline_and_unknown_tokens_are_404(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    created = await api.post(
        "/v1/heartbeats", json={"name": "nightly backup", "period_seconds": 3600, "grace_seconds": 300},
        headers=tenant.headers,
    )  # fmt: skip
    assert created.status_code == 201
    beat = created.json()
    assert beat["last_ping_at"] is None and len(beat["token"]) >= 32
    assert beat["ping_url"].endswith(f"/v1/heartbeats/{beat['token']}")

    pinged = await api.post(f"/v1/heartbeats/{beat['token']}")  # no API key: the token is the credential
    assert pinged.status_code == 200
    assert datetime.fromisoformat(pinged.json()["deadline"]) > datetime.fromisoformat(beat["deadline"])
    state = (await api.get(f"/v1/heartbeats/{beat['id']}", headers=tenant.headers)).json()
    assert state["last_ping_at"] is not None and "token" not in state
    deadline, pinged_at = (datetime.fromisoformat(state[key]) for key in ("deadline", "last_ping_at"))
    assert deadline == pinged_at + timedelta(seconds=3600 + 300)  # a period and the grace after the ping
    assert (await api.post("/v1/heartbeats/" + "x" * 32)).status_code == 404
    other = await make_tenant(pool)
    assert (await api.get(f"/v1/heartbeats/{beat['id']}", headers=other.headers)).status_code == 404
    stored = await pool.fetchval("SELECT token_hash FROM heartbeats WHERE id = $1", beat["id"])
    assert beat["token"].encode() not in stored  # only a digest is kept

    bad = await api.post("/v1/heartbeats", json={"name": "x", "period_seconds": 1}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "period_seconds"


async def test_missed_deadline_is_one_failed_run_even_with_two_schedulers(pool: asyncpg.Pool, gate: Gate) -> None:
    tenant = await make_tenant(pool)
    beat, _ = await heartbeats.create(pool, tenant.org.id, "cron", period=60, grace=0)
    missed_deadline = await pool.fetchval(
        "UPDATE heartbeats SET deadline = now() - interval '1 second' WHERE id = $1 RETURNING deadline", beat.id
    )

    life = lifecycle(pool, gate)
    rounds = heartbeat_round.heartbeat_deadlines(pool, life), heartbeat_round.heartbeat_deadlines(pool, life)
    first, second = await asyncio.gather(*rounds)
    mine = [r for r in first + second if await scans.get(pool, tenant.org.id, uuid.UUID(r), "checks")]
    assert len(mine) == 1
    run = await scans.get(pool, tenant.org.id, uuid.UUID(mine[0]), "checks")
    assert run is not None and run.status is Status.SUCCEEDED and run.verdict == "failed"
    evidence = await pool.fetch("SELECT kind, details FROM evidence WHERE scan_id = $1", run.id)
    assert [row["kind"] for row in evidence] == ["heartbeat_missed"]
    assert evidence[0]["details"]["name"] == "cron" and evidence[0]["details"]["last_ping_at"] is None
    # The deadline moved on a period: the next round makes nothing new.
    assert [r for r in await heartbeat_round.heartbeat_deadlines(pool, life) if r in mine] == []
    moved = await heartbeats.get(pool, tenant.org.id, beat.id)
    assert moved is not None and moved.missed_runs == 1
    assert moved.deadline == missed_deadline + timedelta(seconds=60)
