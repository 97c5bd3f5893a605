"""A job's results: written once with its final status, and read back a page at a time."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from typing import Literal

import asyncpg

from scanfleet import ids
from scanfleet.db import artifacts
from scanfleet.db.partitions import retry_on_missing
from scanfleet.db.pool import Executor
from scanfleet.model import Job, Outcome
from scanfleet.storable import storable, storable_json
from scanfleet.webhooks import events

Table = Literal["evidence", "issues"]

EVIDENCE_COLUMNS = ("scan_created_at", "scan_id", "seq", "org_id", "kind", "severity", "title", "details", "location")
ISSUE_COLUMNS = ("scan_created_at", "scan_id", "seq", "org_id", "code", "severity", "title", "explanation",
                 "evidence_seqs")  # fmt: skip

# Each day's counts per organisation are split over this many rows (migration 0013's shard tables), so that
# concurrent results rarely wait on one another's row lock.
COUNT_SHARDS = 32

# A result in one statement, so one round trip and its implicit transaction: the status change, the rows (evidence,
# issues, artifacts), the domains seen, the day's counts and the webhook events. The status UPDATE takes the row
# lock; a concurrent delivery of the same scan waits on it, re-checks the status once this one commits, finds it
# final and changes no row, and then every other part of the statement, conditioned on a changed row, writes
# nothing either. Rows come as one array per column (unnest), numbered from 0 in their order; the evidence's
# details as one JSON array, encoded in one go rather than a document per row. Artifact rows are those of blobs
# stored already (scanfleet.artifacts.writer): rows that commit always find theirs.
_FINISH = f"""
WITH changed AS (
    UPDATE scans SET status = $3, finished_at = now(), lease_until = NULL, final_url = $4, http_status = $5,
        error_code = $6, error_message = $7, summary = $8, verdict = $9
    WHERE id = $1 AND created_at = $2 AND status IN ('queued', 'running')
    RETURNING org_id
), seen AS (
    INSERT INTO scan_domains (scan_created_at, org_id, domain, scan_id, tracker, vendor)
    SELECT $2, changed.org_id, d.domain, $1, d.tracker, d.vendor
    FROM changed, unnest($10::text[], $11::boolean[], $12::text[]) AS d(domain, tracker, vendor)
), scan_count AS (
    INSERT INTO daily_scan_count_shards AS c (org_id, day, status, shard, scans)
    SELECT org_id, $13, $3, $18, 1 FROM changed
    ON CONFLICT (org_id, day, status, shard) DO UPDATE SET scans = c.scans + 1
), issue_count AS (
    INSERT INTO daily_issue_count_shards AS c (org_id, day, severity, shard, issues)
    SELECT changed.org_id, $13, i.severity, $18, i.issues
    FROM changed, unnest($14::text[], $15::bigint[]) AS i(severity, issues)
    ON CONFLICT (org_id, day, severity, shard) DO UPDATE SET issues = c.issues + excluded.issues
), events AS (
    INSERT INTO webhook_events (org_id, endpoint_id, scan_id, type, payload)
    SELECT e.org_id, e.id, $1, $16, $17 FROM changed, webhook_endpoints e
    WHERE e.org_id = changed.org_id AND $16 = ANY(e.events)
    ON CONFLICT (endpoint_id, scan_id) DO NOTHING
), evidence_rows AS (
    INSERT INTO evidence ({", ".join(EVIDENCE_COLUMNS)})
    SELECT $2, $1, e.n - 1, changed.org_id, e.kind, e.severity, e.title, e.details, e.location
    FROM changed, ROWS FROM (unnest($19::text[]), unnest($20::text[]), unnest($21::text[]),
        jsonb_array_elements($22::jsonb), unnest($23::text[])) WITH ORDINALITY AS e(kind, severity, title, details,
        location, n)
), issue_rows AS (
    INSERT INTO issues ({", ".join(ISSUE_COLUMNS)})
    SELECT $2, $1, i.n - 1, changed.org_id, i.code, i.severity, i.title, i.explanation, i.evidence::integer[]
    FROM changed, unnest($24::text[], $25::text[], $26::text[], $27::text[], $28::text[])
        WITH ORDINALITY AS i(code, severity, title, explanation, evidence, n)
), {artifacts.insert_cte("artifact_rows", "changed", 29)}
SELECT count(*) > 0 FROM changed
"""


async def record_outcome(pool: asyncpg.Pool, scan: Job, outcome: Outcome) -> bool:
    """Write evidence, issues, artifact rows and the final status at once. False if another delivery already did."""
    return await retry_on_missing(pool, scan.created_at, lambda: write_outcome(pool, scan, outcome))


async def write_outcome(conn: Executor, scan: Job, outcome: Outcome) -> bool:
    """record_outcome's write, on `conn` (inside the caller's transaction, if it has one): one statement."""
    # What targets sent may hold U+0000 or lone surrogates; PostgreSQL takes neither. The evidence rows, the bulk
    # of it, are made storable one field at a time (their details as the JSON text PostgreSQL reads), the rest at
    # once.
    found = outcome.evidence
    outcome = dataclasses.replace(storable(dataclasses.replace(outcome, evidence=[])), evidence=found)
    issues = outcome.issues
    severities = Counter(issue.severity.value for issue in issues)
    event_type, event = events.completion(scan, outcome)
    changed: bool = await conn.fetchval(
        _FINISH,
        scan.id, scan.created_at, outcome.status.value, outcome.final_url, outcome.http_status,
        outcome.error_code, outcome.error_message, outcome.summary(), outcome.verdict,
        [d.domain for d in outcome.domains], [d.tracker for d in outcome.domains],
        [d.vendor for d in outcome.domains],
        scan.created_at.date(), list(severities), list(severities.values()), event_type, event,
        scan.id.int % COUNT_SHARDS,  # a UUIDv7's last bits are random
        [item.kind for item in found], [item.severity.value for item in found],
        [storable(item.title) for item in found], storable_json([item.details for item in found]),
        [storable(item.location) for item in found],
        [item.code for item in issues], [item.severity.value for item in issues], [item.title for item in issues],
        [item.explanation for item in issues], [_int_array(item.evidence) for item in issues],
        *artifacts.insert_arrays(scan, outcome.attachments),
    )  # fmt: skip
    return changed


def _int_array(values: tuple[int, ...] | list[int]) -> str:
    """An integer[] as PostgreSQL's text form: unnest takes no ragged two-dimensional array."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


# What the API reads of a scan's results, and what each may be filtered by.
_COLUMNS = {
    "evidence": "seq, kind, severity, title, details, location",
    "issues": "seq, code, severity, title, explanation, evidence_seqs AS evidence",
}
_FILTERS = {"evidence": ("kind", "severity"), "issues": ("code", "severity")}


async def list_results(
    conn: Executor,
    table: Table,
    org_id: uuid.UUID,
    scan_id: uuid.UUID,
    after_seq: int,
    limit: int,
    filters: dict[str, str | None] | None = None,
) -> list[asyncpg.Record]:
    """A page of a scan's evidence or issues in seq order after `after_seq`, optionally filtered
    (evidence by kind/severity, issues by code/severity)."""
    where, args = "", [scan_id, ids.created_at(scan_id), org_id, after_seq, limit]
    for column in _FILTERS[table]:
        value = (filters or {}).get(column)
        if value is not None:
            args.append(value)
            where += f" AND {column} = ${len(args)}"
    return await conn.fetch(
        f"SELECT {_COLUMNS[table]} FROM {table}"
        f" WHERE scan_id = $1 AND scan_created_at = $2 AND org_id = $3 AND seq > $4{where} ORDER BY seq LIMIT $5",
        *args,
    )


async def all_results(
    conn: Executor, table: Table, org_id: uuid.UUID, scan_id: uuid.UUID, page: int = 1000
) -> list[asyncpg.Record]:
    """Every row of a scan's evidence or issues in seq order, read a page per statement (for its report)."""
    rows: list[asyncpg.Record] = []
    while True:
        found = await list_results(conn, table, org_id, scan_id, rows[-1]["seq"] if rows else -1, page)
        rows.extend(found)
        if len(found) < page:
            return rows
