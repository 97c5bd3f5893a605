"""Artifact rows: what makes a stored blob a job's. Written with the job's result, read by the API within the
caller's organisation, and asked by the sweep which blobs are still referenced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from scanfleet import ids
from scanfleet.db.pool import Executor
from scanfleet.db.rows import names, read
from scanfleet.model import Attachment, Job

_WRITTEN = ("scan_created_at", "scan_id", "id", "seq", "org_id", "kind", "content_type", "sha256", "size", "step")


@dataclass(frozen=True)
class Artifact:
    id: uuid.UUID
    scan_id: uuid.UUID
    org_id: uuid.UUID
    kind: str
    content_type: str
    sha256: str
    size: int
    step: str | None
    created_at: datetime


_COLS = names(Artifact)


def insert_cte(name: str, job: str, first: int) -> str:
    """A CTE `name` that writes the rows of attachments whose blobs are stored, inside the job's result statement:
    for the job in CTE `job` (with its org_id), whose id and created_at are $1 and $2, from the arrays of
    `insert_arrays` as parameters $first onwards."""
    p = [f"${first + n}" for n in range(6)]
    return (
        f"{name} AS (INSERT INTO artifacts ({', '.join(_WRITTEN)})"
        f" SELECT $2, $1, a.id, a.n - 1, {job}.org_id, a.kind, a.content_type, a.sha256, a.size, a.step"
        f" FROM {job}, unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::text[], {p[3]}::text[], {p[4]}::bigint[],"
        f" {p[5]}::text[]) WITH ORDINALITY AS a(id, kind, content_type, sha256, size, step, n))"
    )


def insert_arrays(job: Job, attachments: list[Attachment]) -> list[list[object]]:
    """insert_cte's parameters: one array per column."""
    return [
        [ids.new_id(job.created_at) for _ in attachments], [item.kind for item in attachments],
        [item.content_type for item in attachments], [item.sha256 for item in attachments],
        [len(item.data) for item in attachments], [item.step for item in attachments],
    ]  # fmt: skip


async def of_job(conn: Executor, org_id: uuid.UUID, job_id: uuid.UUID) -> list[Artifact]:
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM artifacts WHERE scan_id = $1 AND scan_created_at = $2 AND org_id = $3 ORDER BY seq",
        job_id, ids.created_at(job_id), org_id,
    )  # fmt: skip
    return [read(Artifact, row) for row in rows]


async def get(conn: Executor, org_id: uuid.UUID, artifact_id: uuid.UUID) -> Artifact | None:
    """The org's artifact, hidden with its job once that is soft-deleted; None for another org's."""
    row = await conn.fetchrow(
        f"SELECT {names(Artifact, 'a')} FROM artifacts a JOIN scans s"
        " ON s.id = a.scan_id AND s.created_at = a.scan_created_at AND s.deleted_at IS NULL"
        " WHERE a.id = $1 AND a.scan_created_at = $2 AND a.org_id = $3",
        artifact_id, ids.created_at(artifact_id), org_id,
    )  # fmt: skip
    return read(Artifact, row) if row else None


async def referenced(conn: Executor, blobs: list[tuple[uuid.UUID, str]]) -> set[tuple[uuid.UUID, str]]:
    """Which of these (org, sha256) blobs some row still references."""
    if not blobs:
        return set()
    rows = await conn.fetch(
        "SELECT DISTINCT a.org_id, a.sha256 FROM artifacts a"
        " JOIN unnest($1::uuid[], $2::text[]) AS b(org_id, sha256) ON a.org_id = b.org_id AND a.sha256 = b.sha256",
        [org for org, _ in blobs], [sha for _, sha in blobs],
    )  # fmt: skip
    return {(row["org_id"], row["sha256"]) for row in rows}
