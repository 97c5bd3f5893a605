"""Retention of the day-partitioned tables, and how far ahead their partitions reach.

A day past retention leaves whole: each table's partition is detached (`DETACH ... CONCURRENTLY`, which
never blocks writes to the other days) and then dropped, never emptied by a bulk DELETE. Each step starts
from what the catalog says now (attached, detach pending, detached, gone), so a crash between steps is
picked up by the next round. One replica at a time does the work, under a lease (see locks): DDL of
several on one table deadlocks, or trips over a detach finishing under it, inside PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import asyncpg

from scanfleet.db import locks
from scanfleet.db.partitions import PARTITIONED_TABLES
from scanfleet.db.pool import Executor

State = Literal["attached", "pending", "detached"]

# The names scanfleet_ensure_day_partition gives: <table>_YYYYMMDD.
DAY_PARTITION = rf"^({'|'.join(PARTITIONED_TABLES)})_([0-9]{{8}})$"

_FIND = """
SELECT c.relname AS name,
       CASE WHEN NOT c.relispartition THEN 'detached' WHEN i.inhdetachpending THEN 'pending' ELSE 'attached' END
       AS state
FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace AND c.relname ~ $1
"""

# A pending detach of another partition can hold up this one's only so many times in a row.
_DETACH_TRIES = 5
# Renewed while held (a detach may wait long for the table's transactions): only a replica that died keeps
# the others waiting this long.
LEASE = "retention"
LEASE_SECONDS = 60.0


@dataclass(frozen=True)
class DayPartition:
    table: str
    day: date
    state: State

    @property
    def name(self) -> str:
        return f"{self.table}_{self.day:%Y%m%d}"


async def day_partitions(conn: Executor, pattern: str = DAY_PARTITION) -> list[DayPartition]:
    """Every day partition whose name matches `pattern`, attached or not (a detached one awaits its drop)."""
    found = []
    for row in await conn.fetch(_FIND, pattern):
        match = re.fullmatch(DAY_PARTITION, row["name"])
        if match:
            found.append(DayPartition(match[1], date.fromisoformat(match[2]), row["state"]))
    return found


async def horizon_days(conn: Executor) -> dict[str, int]:
    """Per table, how many days from today (UTC) have their partition, without a gap: today's alone is 1,
    none for today is 0. Days past a gap do not count: writes into the gap make their partition on demand."""
    today = datetime.now(UTC).date()
    attached = {(part.table, part.day) for part in await day_partitions(conn) if part.state == "attached"}
    horizon = {}
    for table in PARTITIONED_TABLES:
        ahead = 0
        while (table, today + timedelta(days=ahead)) in attached:
            ahead += 1
        horizon[table] = ahead
    return horizon


async def drop_before(pool: asyncpg.Pool, cutoff: date) -> list[DayPartition]:
    """Detach and drop the partition of every day before `cutoff`, in every table; returns those dropped.
    Empty, with nothing done, while another replica holds the lease. Pending detaches go first: a table
    allows only one."""
    async with locks.lease(pool, LEASE, LEASE_SECONDS) as held:
        if not held:
            return []
        expired = [part for part in await day_partitions(pool) if part.day < cutoff]
        expired.sort(key=lambda part: (part.state != "pending", part.day, part.table))
        dropped = []
        for part in expired:
            await detach(pool, part)
            if await drop(pool, part):
                dropped.append(part)
        return dropped


async def _current(pool: asyncpg.Pool, part: DayPartition) -> DayPartition | None:
    found = await day_partitions(pool, f"^{part.name}$")
    return found[0] if found else None


async def detach(pool: asyncpg.Pool, part: DayPartition) -> None:
    """Leave `part` detached from its table, whoever finishes the work."""
    for _ in range(_DETACH_TRIES):
        current = await _current(pool, part)
        if current is None or current.state == "detached":
            return
        # Outside any transaction: CONCURRENTLY needs its own (it commits twice and waits for the table's
        # lockers in between); FINALIZE completes one that a crash or a timeout left pending.
        mode = "FINALIZE" if current.state == "pending" else "CONCURRENTLY"
        try:
            await pool.execute(f'ALTER TABLE {part.table} DETACH PARTITION "{part.name}" {mode}')
            return
        except asyncpg.UndefinedTableError:
            return  # "not a partition" or "does not exist": a replica whose lease ran out got there first
        except asyncpg.ObjectNotInPrerequisiteStateError:
            # Another partition of this table is pending detach (a crash's, or a replica's whose lease ran out):
            # finish it — FINALIZE waits alongside one in progress — then try this one again.
            for other in await day_partitions(pool, rf"^{part.table}_[0-9]{{8}}$"):
                if other.state == "pending":
                    await detach(pool, other)
    raise RuntimeError(f"{part.name}: other detaches of {part.table} kept it waiting; the next round retries")


async def drop(pool: asyncpg.Pool, part: DayPartition) -> bool:
    """Drop `part` once detached (dropping a partition still attached would lock its whole table); False when
    it is not detached, or is gone already."""
    current = await _current(pool, part)
    if current is None or current.state != "detached":
        return False
    try:
        await pool.execute(f'DROP TABLE "{part.name}"')
    except asyncpg.UndefinedTableError:
        return False  # a replica whose lease ran out dropped it
    return True
