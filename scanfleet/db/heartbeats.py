"""Heartbeats: a customer's job pings its URL; a missed deadline becomes a failed test run."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from scanfleet import ids
from scanfleet.checks import HeartbeatState
from scanfleet.db import pages
from scanfleet.db.pool import Connection, Executor
from scanfleet.db.rows import names, read
from scanfleet.model import Evidence, Outcome, Severity, Status


@dataclass(frozen=True)
class Heartbeat:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    period_seconds: int
    grace_seconds: int
    created_at: datetime
    last_ping_at: datetime | None
    deadline: datetime
    missed_runs: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Heartbeat:
        return read(cls, row)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


_COLS = names(Heartbeat)  # named, never *: a column a newer release adds changes no result here


async def create(conn: Executor, org_id: uuid.UUID, name: str, period: int, grace: int) -> tuple[Heartbeat, str]:
    """Returns the heartbeat and its ping token, which is not stored and cannot be shown again."""
    token = secrets.token_urlsafe(24)  # 192 random bits: unguessable
    row = await conn.fetchrow(
        "INSERT INTO heartbeats (id, org_id, name, token_hash, period_seconds, grace_seconds, deadline)"
        f" VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $5::int + $6::int)) RETURNING {_COLS}",
        ids.new_id(), org_id, name, _digest(token), period, grace,
    )  # fmt: skip
    assert row is not None  # INSERT … RETURNING returns the row it made
    return Heartbeat.from_row(row), token


async def ping(conn: Executor, token: str) -> Heartbeat | None:
    row = await conn.fetchrow(
        "UPDATE heartbeats SET last_ping_at = now(),"
        " deadline = now() + make_interval(secs => period_seconds + grace_seconds)"
        f" WHERE token_hash = $1 RETURNING {_COLS}",
        _digest(token),
    )
    return Heartbeat.from_row(row) if row else None


async def get(conn: Executor, org_id: uuid.UUID, heartbeat_id: uuid.UUID) -> Heartbeat | None:
    row = await conn.fetchrow(f"SELECT {_COLS} FROM heartbeats WHERE id = $1 AND org_id = $2", heartbeat_id, org_id)
    return Heartbeat.from_row(row) if row else None


async def state(conn: Executor, org_id: uuid.UUID, heartbeat_id: uuid.UUID) -> HeartbeatState | None:
    """What a heartbeat step checks: when the org's heartbeat was last pinged, against its period."""
    beat = await get(conn, org_id, heartbeat_id)
    if beat is None:
        return None
    return HeartbeatState(last_ping_at=beat.last_ping_at, period_seconds=beat.period_seconds,
                          grace_seconds=beat.grace_seconds)  # fmt: skip


async def list_for_org(conn: Executor, org_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Heartbeat]:
    """The organisation's heartbeats, oldest first, a page of `limit` after the id `after`."""
    return [Heartbeat.from_row(row) for row in await pages.by_id(conn, "heartbeats", _COLS, org_id, after, limit)]


async def delete(conn: Executor, org_id: uuid.UUID, heartbeat_id: uuid.UUID) -> bool:
    status = await conn.execute("DELETE FROM heartbeats WHERE id = $1 AND org_id = $2", heartbeat_id, org_id)
    return status.endswith(" 1")


@dataclass(frozen=True)
class Missed:
    """A heartbeat whose deadline passed: the run that says so, and what it found."""

    org_id: uuid.UUID
    suite: dict[str, Any]
    outcome: Outcome


async def claim_missed(conn: Connection, limit: int = 100) -> list[Missed]:
    """Inside the caller's transaction: each passed deadline, once, moved on by a period. SKIP LOCKED lets
    several schedulers share the work; the caller records each one's run in the same transaction."""
    rows = await conn.fetch(
        "UPDATE heartbeats h SET deadline = h.deadline + make_interval(secs => h.period_seconds),"
        " missed_runs = h.missed_runs + 1"
        " FROM (SELECT id, deadline FROM heartbeats WHERE deadline < now() ORDER BY deadline LIMIT $1"
        "       FOR UPDATE SKIP LOCKED) due"
        f" WHERE h.id = due.id RETURNING {names(Heartbeat, 'h')}, due.deadline AS missed_deadline",
        limit,
    )
    return [Missed(row["org_id"], _heartbeat_suite(row), _missed_outcome(row)) for row in rows]


def _heartbeat_suite(row: asyncpg.Record) -> dict[str, Any]:
    return {"name": f"heartbeat {row['name']}", "steps": [{"kind": "heartbeat", "heartbeat_id": str(row["id"])}]}


def _missed_outcome(row: asyncpg.Record) -> Outcome:
    last = row["last_ping_at"].isoformat() if row["last_ping_at"] else None
    details = {
        "heartbeat_id": str(row["id"]), "name": row["name"], "last_ping_at": last,
        "missed_deadline": row["missed_deadline"].isoformat(), "period_seconds": row["period_seconds"],
        "grace_seconds": row["grace_seconds"],
    }  # fmt: skip
    title = f"Heartbeat '{row['name']}' missed its deadline ({'never pinged' if last is None else 'last ping ' + last})"
    evidence = [Evidence("heartbeat_missed", Severity.HIGH, title, details)]
    return Outcome(Status.SUCCEEDED, evidence=evidence, verdict="failed")
