"""Artifact rows: what makes a stored blob a job's. Written with the job's result, read by the API within the
caller's organisation, and asked by the sweep which blobs are still referenced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from scanfleet import ids
from scanfleet.db.pool import Connection, Executor
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


async def insert(conn: Connection, job: Job, attachments: list[Attachment]) -> None:
    """The rows of attachments whose blobs are stored, inside the result's transaction: one statement (a job has a
    handful, where COPY would cost two round trips)."""
    if not attachments:
        return
    await conn.execute(
        f"INSERT INTO artifacts ({', '.join(_WRITTEN)}) SELECT $1, $2, * FROM unnest($3::uuid[], $4::int[],"
        " $5::uuid[], $6::text[], $7::text[], $8::text[],"
        " $9::bigint[], $10::text[])",
        job.created_at, job.id,
        [ids.new_id(job.created_at) for _ in attachments], list(range(len(attachments))),
        [job.org_id] * len(attachments), [item.kind for item in attachments],
        [item.content_type for item in attachments], [item.sha256 for item in attachments],
        [len(item.data) for item in attachments], [item.step for item in attachments],
    )  # fmt: skip


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
