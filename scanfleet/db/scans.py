"""The job store: every statement on the `scans` table, which holds privacy scans and test runs alike.

Reads the API serves are scoped to an organisation; every write is idempotent. Rows are read by named columns
(model.COLUMNS), so a column that a newer migration adds never breaks a running process. The job lifecycle
(scanfleet.lifecycle) is what calls the writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

from scanfleet import ids
from scanfleet.db.partitions import retry_on_missing
from scanfleet.db.pool import Executor
from scanfleet.db.rows import Row, read
from scanfleet.model import COLUMN_NAMES, COLUMNS, Engine, Job, Kind, Status

Reused = Literal["in_flight", "recent"]

_KEY = "id = $1 AND created_at = $2"  # the id's own timestamp prunes every lookup to one day's partition


# The functions of migrations 0014 and 0017, their rows read field by field: a composite value in the answer would
# tie this process to the table's shape (a column a newer migration adds would make asyncpg refuse it).
_SCAN_FIELDS = ", ".join(f"(f.scan).{name}" for name in COLUMN_NAMES)
_SUBMIT = f"SELECT {_SCAN_FIELDS}, f.reused FROM submit_scan($1, $2, $3, $4, $5, $6, $7) AS f"
_SUBMIT_MANY = (
    f"SELECT f.ord, {_SCAN_FIELDS}, f.reused FROM submit_scans("
    "$1::uuid[], $2::text[], $3::text[], $4::float8[], $5::uuid[], $6::timestamptz[], $7::text[]) AS f"
)


@dataclass(frozen=True)
class Submission:
    org_id: uuid.UUID
    url: str
    engine: Engine
    reuse_seconds: float
    scan_id: uuid.UUID = field(default_factory=ids.new_id)  # the new scan's, if one is made: the same on a retry


def _job(row: Row | None) -> Job:
    assert row is not None, "no job row"  # a row the statement just returned
    return read(Job, row, status=Status(row["status"]))


def _maybe(row: Row | None) -> Job | None:
    return _job(row) if row else None


async def insert(
    pool: asyncpg.Pool, org_id: uuid.UUID, url: str, scan_id: uuid.UUID | None = None, engine: Engine = "http"
) -> Job:
    """A queued scan of `url`; its day's partition is made if missing."""
    scan_id = scan_id or ids.new_id()
    return await retry_on_missing(pool, ids.created_at(scan_id), lambda: _insert(pool, org_id, url, engine, scan_id))


async def _insert(conn: Executor, org_id: uuid.UUID, url: str, engine: Engine, scan_id: uuid.UUID) -> Job:
    row = await conn.fetchrow(
        f"INSERT INTO scans (id, created_at, org_id, url, engine) VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
        scan_id, ids.created_at(scan_id), org_id, url, engine,
    )  # fmt: skip
    return _job(row)


async def find_or_insert(
    conn: Executor,
    org_id: uuid.UUID,
    url: str,
    engine: Engine,
    reuse_seconds: float,
    scan_id: uuid.UUID | None = None,
) -> tuple[Job, Reused | None]:
    """The org's scan of `url` by `engine` still queued or running, else one that succeeded within `reuse_seconds`
    (0: none), else a new one. A lock per (org, engine, URL), held to the end of the transaction (the caller's, or
    the statement's own), makes concurrent submissions and schedule fires of one URL agree on one scan."""
    scan_id = scan_id or ids.new_id()
    created_at = ids.created_at(scan_id)
    lock = _lock_name(org_id, url, engine)
    row = await conn.fetchrow(_SUBMIT, org_id, url, engine, float(reuse_seconds), scan_id, created_at, lock)
    return _job(row), row["reused"] if row else None


def _lock_name(org_id: uuid.UUID, url: str, engine: Engine) -> str:
    # The http engine's lock name is the one every release before engines took, so releases side by side agree.
    return f"{org_id}{url}" if engine == "http" else f"{org_id}{engine}:{url}"


async def submit(pool: asyncpg.Pool, item: Submission) -> tuple[Job, Reused | None]:
    """find_or_insert in a transaction of its own (one round trip); its day's partition is made if missing. The
    scan it finds may be the one `item.scan_id` names, made by an earlier try: that is no reuse."""
    job, reused = await retry_on_missing(
        pool, ids.created_at(item.scan_id),
        lambda: find_or_insert(pool, item.org_id, item.url, item.engine, item.reuse_seconds, item.scan_id),
    )  # fmt: skip
    return job, None if job.id == item.scan_id else reused


async def submit_many(pool: asyncpg.Pool, batch: Sequence[Submission]) -> list[tuple[Job, Reused | None] | None]:
    """Each submission as `submit` makes it, all in one statement and one transaction, in order; their days'
    partitions are made if missing. None for a submission whose lock another transaction holds: the batch does not
    wait for it, so submit that one alone."""
    created = [ids.created_at(item.scan_id) for item in batch]
    arrays = (
        [item.org_id for item in batch], [item.url for item in batch], [item.engine for item in batch],
        [float(item.reuse_seconds) for item in batch], [item.scan_id for item in batch], created,
        [_lock_name(item.org_id, item.url, item.engine) for item in batch],
    )  # fmt: skip
    rows = await retry_on_missing(pool, created, lambda: pool.fetch(_SUBMIT_MANY, *arrays))
    made: list[tuple[Job, Reused | None] | None] = [None] * len(batch)
    for row in rows:
        made[row["ord"] - 1] = _job(row), row["reused"]
    return made


async def submit_run(pool: asyncpg.Pool, org_id: uuid.UUID, suite: dict[str, Any], engine: Engine = "http") -> Job:
    """A queued test run of `suite` (already validated); its day's partition is made if missing."""
    run_id = ids.new_id()
    return await retry_on_missing(pool, ids.created_at(run_id), lambda: insert_run(pool, org_id, suite, engine, run_id))


async def insert_run(
    conn: Executor, org_id: uuid.UUID, suite: dict[str, Any], engine: Engine = "http", run_id: uuid.UUID | None = None
) -> Job:
    """`engine`: browser for a suite with browser steps (it takes the browser line), else http."""
    run_id = run_id or ids.new_id()
    row = await conn.fetchrow(
        f"INSERT INTO scans (id, created_at, org_id, kind, spec, engine) VALUES ($1, $2, $3, 'checks', $4, $5)"
        f" RETURNING {COLUMNS}",
        run_id, ids.created_at(run_id), org_id, suite, engine,
    )  # fmt: skip
    return _job(row)


async def get(conn: Executor, org_id: uuid.UUID, job_id: uuid.UUID, kind: Kind = "privacy") -> Job | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM scans WHERE {_KEY} AND org_id = $3 AND kind = $4 AND deleted_at IS NULL",
        job_id, ids.created_at(job_id), org_id, kind,
    )  # fmt: skip
    return _maybe(row)


async def is_final(conn: Executor, job_id: uuid.UUID) -> bool:
    status = await conn.fetchval(f"SELECT status FROM scans WHERE {_KEY}", job_id, ids.created_at(job_id))
    return status is None or Status(status).final


async def statuses(conn: Executor, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, Status]:
    """Current status of each job that still exists (each lookup prunes by the id's timestamp)."""
    rows = await conn.fetch(
        "SELECT s.id, s.status FROM scans s JOIN unnest($1::uuid[], $2::timestamptz[]) AS k(id, created_at)"
        " ON s.id = k.id AND s.created_at = k.created_at",
        job_ids, [ids.created_at(job_id) for job_id in job_ids],
    )  # fmt: skip
    return {row["id"]: Status(row["status"]) for row in rows}


async def list_for_org(
    conn: Executor, org_id: uuid.UUID, before: uuid.UUID | None, limit: int, kind: Kind = "privacy"
) -> list[Job]:
    """Newest first; `before` is the last id of the previous page."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM scans WHERE org_id = $1 AND kind = $4 AND deleted_at IS NULL"
        " AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        org_id, before, limit, kind,
    )  # fmt: skip
    return [_job(row) for row in rows]


async def delete_unadmitted(conn: Executor, job: Job) -> None:
    """Remove a job the gate refused: it was never accepted, so nothing of it may stay runnable."""
    await conn.execute(f"DELETE FROM scans WHERE {_KEY} AND status = 'queued'", job.id, job.created_at)


async def cancel(conn: Executor, org_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
    """Mark an unfinished job cancelled; None if it was already final (or is not the org's)."""
    row = await conn.fetchrow(
        "UPDATE scans SET status = 'cancelled', finished_at = now(), lease_until = NULL,"
        " error_code = 'cancelled', error_message = 'cancelled by request'"
        f" WHERE {_KEY} AND org_id = $3 AND status IN ('queued', 'running') RETURNING {COLUMNS}",
        job_id, ids.created_at(job_id), org_id,
    )  # fmt: skip
    return _maybe(row)


async def claim(conn: Executor, job_id: uuid.UUID, lease_seconds: float) -> Job | None:
    """Mark a job running for this delivery. None when it is already final (a duplicate delivery).

    A job still 'running' may be claimed again: that is a redelivery after its worker died.
    """
    row = await conn.fetchrow(
        "UPDATE scans SET status = 'running', started_at = now(), attempts = attempts + 1,"
        " lease_until = now() + make_interval(secs => $3)"
        f" WHERE {_KEY} AND status IN ('queued', 'running') RETURNING {COLUMNS}",
        job_id, ids.created_at(job_id), lease_seconds,
    )  # fmt: skip
    return _maybe(row)


async def retry_later(conn: Executor, job: Job, error_code: str, error_message: str) -> bool:
    """This delivery failed for a reason that may pass: back to queued, one retry used, the error kept."""
    done = await conn.execute(
        "UPDATE scans SET status = 'queued', lease_until = NULL, retries = retries + 1,"
        f" last_error_code = $3, last_error_message = $4 WHERE {_KEY} AND status = 'running'",
        job.id, job.created_at, error_code, error_message,
    )  # fmt: skip
    return done == "UPDATE 1"


async def hand_back(conn: Executor, job: Job) -> None:
    """The delivery gave the job back unfinished: it does not count as an attempt."""
    await conn.execute(
        "UPDATE scans SET status = 'queued', lease_until = NULL, attempts = greatest(attempts - 1, 0)"
        f" WHERE {_KEY} AND status = 'running'",
        job.id, job.created_at,
    )  # fmt: skip


async def unfinished(conn: Executor, created_before: datetime, after: Job | None, limit: int) -> list[Job]:
    """Jobs not yet final, oldest first, created before a time: a page after `after` (keyset, so a deep
    backlog is walked whole). Queued ones, and running ones whose lease ran out, only."""
    rows = await conn.fetch(
        # finished_at IS NULL: the index of unfinished jobs (migration 0015); a job not final has none.
        f"SELECT {COLUMNS} FROM scans WHERE finished_at IS NULL AND status IN ('queued', 'running')"
        " AND created_at < $1"
        " AND (status = 'queued' OR lease_until < now())"
        " AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3)) ORDER BY created_at, id LIMIT $4",
        created_before, after.created_at if after else None, after.id if after else None, limit,
    )  # fmt: skip
    return [_job(row) for row in rows]


# The bound's margin: a submission's id (its creation time) is made before its row commits, a schedule's fires
# commit together at the end of their batch, and the API hosts' clocks may be apart from the database's.
OPEN_MARGIN_SECONDS = 86_400


async def bound_open(conn: Executor) -> datetime:
    """Move the bound of the submission's lookup of scans in flight (migration 0016) up to the day of the oldest
    scan still queued or running, OPEN_MARGIN_SECONDS before it, and never past the database's own clock less the
    margin (a host's clock ahead must not move it into the future); never back. Every scan made since has a later
    creation time, so none that can still be reused is before it. Written only when it moves to another day.
    Returns the bound."""
    bound: datetime = await conn.fetchval(
        # finished_at IS NULL: the index of unfinished jobs, one probe of each day's partition.
        "WITH due AS (SELECT date_trunc('day', least(coalesce(min(created_at), now()), now())"
        "  - make_interval(secs => $1)) AS since FROM scans WHERE finished_at IS NULL),"
        " moved AS (UPDATE scans_open_since o SET since = due.since FROM due WHERE due.since > o.since"
        "  RETURNING o.since)"
        " SELECT coalesce((SELECT since FROM moved), (SELECT since FROM scans_open_since))",
        float(OPEN_MARGIN_SECONDS),
    )
    return bound


async def soft_delete(conn: Executor, org_id: uuid.UUID, job_id: uuid.UUID) -> bool:
    """Hide a finished job at once; upkeep purges its rows later."""
    status = await conn.execute(
        f"UPDATE scans SET deleted_at = now() WHERE {_KEY} AND org_id = $3"
        " AND deleted_at IS NULL AND status NOT IN ('queued', 'running')",
        job_id, ids.created_at(job_id), org_id,
    )  # fmt: skip
    return status.endswith(" 1")


async def purge_deleted(pool: asyncpg.Pool, older_than_seconds: float, limit: int = 500) -> int:
    """Remove soft-deleted jobs and everything written for them; each delete prunes to the job's day."""
    rows = await pool.fetch(
        "SELECT id, created_at FROM scans WHERE deleted_at < now() - make_interval(secs => $1) LIMIT $2",
        older_than_seconds, limit,
    )  # fmt: skip
    for row in rows:
        async with pool.acquire() as conn, conn.transaction():
            # Artifact blobs are not deleted here: the sweep removes them once no row references them.
            for table in ("evidence", "issues", "scan_domains", "artifacts"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE scan_id = $1 AND scan_created_at = $2",
                    row["id"], row["created_at"],
                )  # fmt: skip
            await conn.execute(f"DELETE FROM scans WHERE {_KEY}", row["id"], row["created_at"])
    return len(rows)
