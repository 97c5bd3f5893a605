"""Day partitions of the time-series tables: made ahead by upkeep, and on demand by a write that finds none."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

import asyncpg

from scanfleet.db.pool import Executor

PARTITIONED_TABLES = ("scans", "evidence", "issues", "scan_domains", "artifacts")

T = TypeVar("T")


async def ensure_day(conn: Executor, day: date) -> int:
    """Create `day`'s partition of every partitioned table; returns how many were created."""
    created = 0
    for table in PARTITIONED_TABLES:
        created += bool(await conn.fetchval("SELECT scanfleet_ensure_day_partition($1::regclass, $2)", table, day))
    return created


async def ensure_ahead(conn: asyncpg.Connection | asyncpg.Pool, today: date, days_ahead: int) -> int:
    """Today's partitions and `days_ahead` more."""
    created = 0
    for offset in range(days_ahead + 1):
        created += await ensure_day(conn, today + timedelta(days=offset))
    return created


def _is_missing_partition(exc: asyncpg.PostgresError) -> bool:
    # SQLSTATE 23514 is also any CHECK failure; only this message means "no partition for the row".
    return isinstance(exc, asyncpg.CheckViolationError) and "no partition of relation" in str(exc)


async def retry_on_missing(pool: asyncpg.Pool, at: datetime, write: Callable[[], Awaitable[T]]) -> T:
    """Run `write`; if it found no partition for `at`, create that day's partitions and run it once more."""
    try:
        return await write()
    except asyncpg.PostgresError as exc:
        if not _is_missing_partition(exc):
            raise
    await ensure_day(pool, at.date())
    return await write()
