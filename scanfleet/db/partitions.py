"""Day partitions of the time-series tables: made ahead by upkeep, and on demand by a write that finds none."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import date, datetime, timedelta
from typing import TypeVar

import asyncpg

from scanfleet.db.pool import Executor

PARTITIONED_TABLES = ("scans", "evidence", "issues", "scan_domains", "artifacts")
FILLING_ROWS = 500  # a partition's rows changed before its first ANALYZE; then as many as it held at its last

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


async def retry_on_missing(
    pool: asyncpg.Pool, at: datetime | Collection[datetime], write: Callable[[], Awaitable[T]]
) -> T:
    """Run `write`; if it found no partition for a row it writes (at `at`), create those days' partitions and run
    it once more."""
    try:
        return await write()
    except asyncpg.PostgresError as exc:
        if not _is_missing_partition(exc):
            raise
    for day in sorted({at.date()} if isinstance(at, datetime) else {moment.date() for moment in at}):
        await ensure_day(pool, day)
    return await write()


async def analyze_filling(conn: Executor) -> list[str]:
    """ANALYZE each partition that has filled since its statistics were taken: FILLING_ROWS rows changed, and at
    least as many as it held when last analysed. Inserts, updates and deletes all count, so a day's partition is
    analysed a number of times that grows with the logarithm of its size; once it holds a few thousand rows,
    autovacuum's own 10 % comes sooner.

    PostgreSQL plans a partition it has no statistics for as nearly empty, and a session keeps the generic plan it
    made then. The submission's lookup, so planned, takes the index on the organisation alone and reads every row
    the organisation has in the day's partition, until autovacuum analyses it: a naptime (a minute) after the
    day's first rows, when a busy day's partition holds tens of thousands. An ANALYZE invalidates those plans.

    A partition another ANALYZE or VACUUM holds (autovacuum, another scheduler) is skipped, and one dropped
    meanwhile (retention) passed over: the next round finds what is still due. Returns the partitions ANALYZE ran
    on."""
    found = await conn.fetch(
        "SELECT format('%I.%I', s.schemaname, s.relname) AS name FROM pg_stat_user_tables s"
        " JOIN pg_inherits i ON i.inhrelid = s.relid JOIN pg_class c ON c.oid = s.relid"
        " WHERE i.inhparent = ANY($1::regclass[]) AND NOT i.inhdetachpending"
        " AND s.n_mod_since_analyze >= greatest($2, c.reltuples)"
        " ORDER BY s.relname",
        list(PARTITIONED_TABLES), FILLING_ROWS,
    )  # fmt: skip
    analysed: list[str] = []
    for row in found:
        try:
            await conn.execute(f"ANALYZE (SKIP_LOCKED) {row['name']}")  # a name PostgreSQL quoted (format's %I)
        except asyncpg.UndefinedTableError:
            continue
        analysed.append(row["name"])
    return analysed
