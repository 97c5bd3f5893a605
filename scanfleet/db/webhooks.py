"""Webhooks: endpoints, the outbox of events written with each result, and the log of delivery attempts."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

from scanfleet import ids
from scanfleet.db import pages
from scanfleet.db.locks import fetchrow_alone
from scanfleet.db.pool import Executor
from scanfleet.db.rows import names, read
from scanfleet.webhooks import events

State = Literal["pending", "delivered", "failed"]

# Per organisation: every completion writes one row per endpoint inside the result transaction.
MAX_ENDPOINTS = 10


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    description: str
    events: list[str]
    created_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Endpoint:
        return read(cls, row)


_COLS = names(Endpoint)  # named, never *: a column a newer release adds changes no result here


async def create(
    pool: asyncpg.Pool, org_id: uuid.UUID, url: str, description: str, event_types: Sequence[str]
) -> tuple[Endpoint, str] | None:
    """The endpoint and its signing secret, shown once; None when the org has MAX_ENDPOINTS already."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = await fetchrow_alone(
        pool,
        f"webhooks:{org_id}",
        "INSERT INTO webhook_endpoints (id, org_id, url, description, events, secret)"
        " SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT count(*) FROM webhook_endpoints WHERE org_id = $2) < $7"
        f" RETURNING {_COLS}",
        ids.new_id(), org_id, url, description, list(event_types), secret, MAX_ENDPOINTS,
    )  # fmt: skip
    return (Endpoint.from_row(row), secret) if row else None


async def list_for_org(conn: Executor, org_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Endpoint]:
    """The organisation's webhook endpoints, oldest first, a page of `limit` after the id `after`."""
    return [Endpoint.from_row(row) for row in await pages.by_id(conn, "webhook_endpoints", _COLS, org_id, after, limit)]


async def get(conn: Executor, org_id: uuid.UUID, endpoint_id: uuid.UUID) -> Endpoint | None:
    row = await conn.fetchrow(
        f"SELECT {_COLS} FROM webhook_endpoints WHERE id = $1 AND org_id = $2", endpoint_id, org_id
    )
    return Endpoint.from_row(row) if row else None


async def delete(conn: Executor, org_id: uuid.UUID, endpoint_id: uuid.UUID) -> bool:
    """Its pending events and its log go with it."""
    status = await conn.execute("DELETE FROM webhook_endpoints WHERE id = $1 AND org_id = $2", endpoint_id, org_id)
    return status.endswith(" 1")


@dataclass(frozen=True)
class Due:
    """A claimed event, with what delivering it needs."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    secret: str = field(repr=False)  # kept out of logs and tracebacks
    type: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int

    def body(self) -> bytes:
        return events.body(self.id, self.type, self.created_at, self.payload)


async def claim_due(pool: asyncpg.Pool, limit: int, lease_seconds: float) -> list[Due]:
    """Due events, oldest first, held for `lease_seconds` by moving their due time on.

    SKIP LOCKED keeps concurrent claims apart while the statement runs, the later due time after it; so no
    transaction stays open across the HTTP calls. If the holder dies, the events fall due again when the
    lease lapses: delivery is at least once.
    """
    rows = await pool.fetch(
        "WITH due AS (SELECT id FROM webhook_events WHERE state = 'pending' AND next_attempt_at <= now()"
        "             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED),"
        " claimed AS (UPDATE webhook_events e SET next_attempt_at = now() + make_interval(secs => $2)"
        "             FROM due, webhook_endpoints p WHERE e.id = due.id AND p.id = e.endpoint_id"
        "             RETURNING e.id, e.endpoint_id, p.url, p.secret, e.type, e.payload, e.created_at, e.attempts)"
        " SELECT * FROM claimed ORDER BY created_at, id",
        limit, lease_seconds,
    )  # fmt: skip
    return [read(Due, row) for row in rows]


async def defer(pool: asyncpg.Pool, event_ids: Sequence[uuid.UUID], until: datetime | None) -> None:
    """Hand claimed events back without an attempt: due at `until`, or at once."""
    await pool.execute(
        "UPDATE webhook_events SET next_attempt_at = coalesce($2, now()) WHERE id = ANY($1::uuid[])",
        list(event_ids), until,
    )  # fmt: skip


@dataclass(frozen=True)
class Attempt:
    """One POST of an event: the status that came back, or the error code of why none did."""

    number: int
    at: datetime
    duration_ms: int
    status_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def record_attempt(pool: asyncpg.Pool, event_id: uuid.UUID, attempt: Attempt, retry_in: float | None) -> State:
    """Log the attempt and settle its event, in one statement: delivered, else due again in `retry_in`
    seconds, else (None) failed for good. An event deleted meanwhile (with its endpoint) logs nothing."""
    state: State = "delivered" if attempt.ok else "pending" if retry_in is not None else "failed"
    await pool.execute(
        "WITH settled AS (UPDATE webhook_events SET state = $2, attempts = $3,"
        "                 next_attempt_at = now() + make_interval(secs => $4),"
        "                 finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END"
        "                 WHERE id = $1 RETURNING id, endpoint_id)"
        " INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, attempted_at, status_code, error_code,"
        "                               error_message, duration_ms)"
        " SELECT id, endpoint_id, $3, $5, $6, $7, $8, $9 FROM settled",
        event_id, state, attempt.number, retry_in or 0.0, attempt.at, attempt.status_code, attempt.error_code,
        attempt.error_message, attempt.duration_ms,
    )  # fmt: skip
    return state


@dataclass(frozen=True)
class Delivery:
    """A line of an endpoint's delivery log: one attempt, and the event it was for."""

    id: int
    event_id: uuid.UUID
    event_type: str
    event_state: str
    scan_id: uuid.UUID
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error_code: str | None
    error_message: str | None
    duration_ms: int


async def deliveries(
    conn: Executor, org_id: uuid.UUID, endpoint_id: uuid.UUID, before: int | None, limit: int
) -> list[Delivery]:
    """The endpoint's attempts, newest first; `before` is the last id of the previous page."""
    rows = await conn.fetch(
        "SELECT a.id, a.event_id, e.type AS event_type, e.state AS event_state, e.scan_id, a.attempt,"
        " a.attempted_at, a.status_code, a.error_code, a.error_message, a.duration_ms"
        " FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id"
        " JOIN webhook_endpoints p ON p.id = a.endpoint_id"
        " WHERE a.endpoint_id = $1 AND p.org_id = $2 AND ($3::bigint IS NULL OR a.id < $3)"
        " ORDER BY a.id DESC LIMIT $4",
        endpoint_id, org_id, before, limit,
    )  # fmt: skip
    return [read(Delivery, row) for row in rows]


async def purge_finished(pool: asyncpg.Pool, older_than_seconds: float, limit: int = 1000) -> int:
    """Delivered and failed events past their keeping time, with their attempts."""
    status = await pool.execute(
        "DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events"
        " WHERE finished_at < now() - make_interval(secs => $1) LIMIT $2)",
        older_than_seconds, limit,
    )  # fmt: skip
    return int(status.split()[-1])
