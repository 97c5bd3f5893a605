"""Reads across an organisation's jobs for its insights: scans by a domain they referenced, counts by day,
and what is in flight. Read from the replica where there is one (the API passes its read pool)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from scanfleet.db.pool import Executor

DOMAIN_PAGE = (
    "SELECT scan_id, scan_created_at, tracker, vendor FROM scan_domains"
    " WHERE org_id = $1 AND domain = $2 AND scan_created_at >= $3 AND scan_created_at < $4"
    " AND ($5::timestamptz IS NULL OR (scan_created_at, scan_id) < ($5, $6))"
    " ORDER BY scan_created_at DESC, scan_id DESC LIMIT $7"
)


async def scans_seeing(
    conn: Executor, org_id: uuid.UUID, domain: str, since: datetime, until: datetime,
    before: tuple[datetime, uuid.UUID] | None, limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None]:  # fmt: skip
    """The org's scans that referenced `domain` in [since, until), newest first, and the key to continue
    after (None on the last page). First a page of scan_domains alone — an index range scan of its key in
    the range's day partitions, stopping at `limit` — then point lookups of just those scans."""
    page = await conn.fetch(
        DOMAIN_PAGE, org_id, domain, since, until, before[0] if before else None, before[1] if before else None, limit
    )
    if not page:
        return [], None
    found = await conn.fetch(
        "SELECT s.id, s.url, s.status FROM scans s JOIN unnest($1::uuid[], $2::timestamptz[]) AS k(id, created_at)"
        " ON s.id = k.id AND s.created_at = k.created_at WHERE s.deleted_at IS NULL",
        [row["scan_id"] for row in page], [row["scan_created_at"] for row in page],
    )  # fmt: skip
    scans_by_id = {row["id"]: row for row in found}
    rows = [
        dict(row) | {"url": scans_by_id[row["scan_id"]]["url"], "status": scans_by_id[row["scan_id"]]["status"]}
        for row in page
        if row["scan_id"] in scans_by_id  # a deleted scan is hidden at once, before upkeep purges its rows
    ]
    last = page[-1]
    return rows, (last["scan_created_at"], last["scan_id"]) if len(page) == limit else None


async def daily_stats(
    conn: Executor, org_id: uuid.UUID, first: date, last: date
) -> dict[date, dict[str, dict[str, int]]]:
    """Per day in [first, last]: finished scans by status and issues by severity, from the rollups (the shards of
    migration 0013 and the unsharded rows of releases before it)."""
    days: dict[date, dict[str, dict[str, int]]] = {}
    for row in await conn.fetch(
        "SELECT day, status, sum(scans)::bigint AS scans FROM ("
        " SELECT day, status, scans FROM daily_scan_counts WHERE org_id = $1 AND day BETWEEN $2 AND $3"
        " UNION ALL SELECT day, status, scans FROM daily_scan_count_shards"
        " WHERE org_id = $1 AND day BETWEEN $2 AND $3) AS c GROUP BY day, status",
        org_id, first, last,
    ):  # fmt: skip
        days.setdefault(row["day"], {"scans": {}, "issues": {}})["scans"][row["status"]] = row["scans"]
    for row in await conn.fetch(
        "SELECT day, severity, sum(issues)::bigint AS issues FROM ("
        " SELECT day, severity, issues FROM daily_issue_counts WHERE org_id = $1 AND day BETWEEN $2 AND $3"
        " UNION ALL SELECT day, severity, issues FROM daily_issue_count_shards"
        " WHERE org_id = $1 AND day BETWEEN $2 AND $3) AS c GROUP BY day, severity",
        org_id, first, last,
    ):  # fmt: skip
        days.setdefault(row["day"], {"scans": {}, "issues": {}})["issues"][row["severity"]] = row["issues"]
    return days


async def in_flight(conn: Executor, org_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        # finished_at IS NULL: the index of unfinished jobs (migration 0015), not every row of the org.
        "SELECT status, count(*) AS n FROM scans WHERE finished_at IS NULL AND org_id = $1"
        " AND status IN ('queued', 'running') AND deleted_at IS NULL GROUP BY status",
        org_id,
    )
    return {"queued": 0, "running": 0} | {row["status"]: row["n"] for row in rows}
