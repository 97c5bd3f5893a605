"""Schedules and their fires."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from scanfleet import ids
from scanfleet.db import pages
from scanfleet.db.locks import fetchrow_alone
from scanfleet.db.pool import Connection, Executor
from scanfleet.db.rows import names, read
from scanfleet.schedules.timing import Timing
from scanfleet.tiers import Limits, limits_for


@dataclass(frozen=True)
class Schedule:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    kind: str
    target: dict[str, Any]
    cron: str | None
    timezone: str
    interval_seconds: int | None
    jitter_seconds: int
    state: str
    next_fire_at: datetime | None
    last_fired_at: datetime | None
    last_outcome: str | None
    fires: int
    rejected_fires: int
    created_at: datetime

    @property
    def timing(self) -> Timing:
        return Timing(self.cron, self.timezone, self.interval_seconds, self.jitter_seconds)

    def next_after(self, after: datetime) -> datetime:
        """The next fire strictly after `after`, jitter included."""
        return self.timing.fire_after(str(self.id), after)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Schedule:
        return read(cls, row)


@dataclass(frozen=True)
class Due:
    schedule: Schedule
    limits: Limits  # the org's, for admission through the gate


_COLS = names(Schedule)  # named, never *: a column a newer release adds changes no result here


async def create(
    pool: asyncpg.Pool,
    org_id: uuid.UUID,
    name: str,
    kind: str,
    target: dict[str, Any],
    timing: Timing,
    now: datetime,
    max_schedules: int,
) -> Schedule | None:
    """The new schedule; None when the org has `max_schedules` already."""
    schedule_id = ids.new_id()
    row = await fetchrow_alone(
        pool,
        f"schedules:{org_id}",
        "INSERT INTO schedules (id, org_id, name, kind, target, cron, timezone, interval_seconds, jitter_seconds,"
        " next_fire_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10"
        f" WHERE (SELECT count(*) FROM schedules WHERE org_id = $2) < $11 RETURNING {_COLS}",
        schedule_id,
        org_id,
        name,
        kind,
        target,
        timing.cron,
        timing.timezone,
        timing.interval_seconds,
        timing.jitter_seconds,
        timing.fire_after(str(schedule_id), now),
        max_schedules,
    )
    return Schedule.from_row(row) if row else None


async def get(conn: Executor, org_id: uuid.UUID, schedule_id: uuid.UUID) -> Schedule | None:
    row = await conn.fetchrow(f"SELECT {_COLS} FROM schedules WHERE id = $1 AND org_id = $2", schedule_id, org_id)
    return Schedule.from_row(row) if row else None


async def list_for_org(conn: Executor, org_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Schedule]:
    """The organisation's schedules, oldest first, a page of `limit` after the id `after`."""
    return [Schedule.from_row(row) for row in await pages.by_id(conn, "schedules", _COLS, org_id, after, limit)]


async def update(conn: Executor, schedule: Schedule, now: datetime, **changes: Any) -> Schedule:
    """Apply changes (name, target, timing fields, state); the next fire follows the new timing."""
    merged = Schedule(**{**schedule.__dict__, **changes})
    next_fire = merged.next_after(now) if merged.state == "active" else None
    row = await conn.fetchrow(
        "UPDATE schedules SET name = $3, target = $4, cron = $5, timezone = $6, interval_seconds = $7,"
        f" jitter_seconds = $8, state = $9, next_fire_at = $10 WHERE id = $1 AND org_id = $2 RETURNING {_COLS}",
        merged.id, merged.org_id, merged.name, merged.target, merged.cron, merged.timezone, merged.interval_seconds,
        merged.jitter_seconds, merged.state, next_fire,
    )  # fmt: skip
    assert row is not None  # none only if the schedule was deleted since the caller read it
    return Schedule.from_row(row)


async def delete(conn: Executor, org_id: uuid.UUID, schedule_id: uuid.UUID) -> bool:
    status = await conn.execute("DELETE FROM schedules WHERE id = $1 AND org_id = $2", schedule_id, org_id)
    return status.endswith(" 1")


async def recent_fires(conn: Executor, schedule_id: uuid.UUID, limit: int = 10) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT planned_at, fired_at, outcome, job_id FROM schedule_fires WHERE schedule_id = $1"
        " ORDER BY planned_at DESC LIMIT $2",
        schedule_id, limit,
    )  # fmt: skip


async def claim_due(conn: Connection, now: datetime, limit: int) -> list[Due]:
    """Due schedules, locked for this transaction; other schedulers skip them."""
    rows = await conn.fetch(
        f"SELECT {names(Schedule, 's')}, o.tier, o.max_running AS org_max_running, o.max_queued AS org_max_queued"
        " FROM schedules s JOIN organisations o ON o.id = s.org_id"
        " WHERE s.state = 'active' AND s.next_fire_at <= $1 ORDER BY s.next_fire_at LIMIT $2"
        " FOR UPDATE OF s SKIP LOCKED",
        now, limit,
    )  # fmt: skip
    return [
        Due(Schedule.from_row(row), limits_for(row["tier"], row["org_max_running"], row["org_max_queued"]))
        for row in rows
    ]


async def record_fire(
    conn: Connection, schedule: Schedule, outcome: str, job_id: uuid.UUID | None, next_fire_at: datetime
) -> None:
    assert schedule.next_fire_at is not None
    await conn.execute(
        "INSERT INTO schedule_fires (schedule_id, planned_at, outcome, job_id) VALUES ($1, $2, $3, $4)",
        schedule.id, schedule.next_fire_at, outcome, job_id,
    )  # fmt: skip
    await conn.execute(
        "UPDATE schedules SET next_fire_at = $2, last_fired_at = now(), last_outcome = $3, fires = fires + 1"
        " WHERE id = $1",
        schedule.id, next_fire_at, outcome,
    )  # fmt: skip


async def mark_rejected(conn: Executor, schedule_id: uuid.UUID, planned_at: datetime) -> None:
    """The gate refused the fire's job: say so on the fire and the schedule."""
    await conn.execute(
        "UPDATE schedule_fires SET outcome = 'rejected', job_id = NULL WHERE schedule_id = $1 AND planned_at = $2",
        schedule_id, planned_at,
    )  # fmt: skip
    await conn.execute(
        "UPDATE schedules SET last_outcome = 'rejected', rejected_fires = rejected_fires + 1 WHERE id = $1",
        schedule_id,
    )


async def counts_by_state(conn: Executor) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM schedules GROUP BY state")
    return {"active": 0, "paused": 0} | {row["state"]: row["n"] for row in rows}


async def pause_broken(conn: Executor, schedule_id: uuid.UUID) -> None:
    """A schedule that cannot fire (its row no longer makes a job) is paused, so it cannot fail every round."""
    await conn.execute("UPDATE schedules SET state = 'paused', last_outcome = 'error' WHERE id = $1", schedule_id)
