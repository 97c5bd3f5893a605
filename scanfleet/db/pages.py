"""One organisation's rows of a table a page at a time, oldest first, by id (UUIDv7: creation order)."""

from __future__ import annotations

import uuid
from typing import Literal

import asyncpg

from scanfleet.db.pool import Executor

Table = Literal["heartbeats", "schedules", "webhook_endpoints", "api_keys"]


async def by_id(
    conn: Executor, table: Table, columns: str, org_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` rows (their named `columns`) with ids after `after` (None: from the first)."""
    return await conn.fetch(
        f"SELECT {columns} FROM {table} WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        org_id, after, limit,
    )  # fmt: skip
