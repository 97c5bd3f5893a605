"""Locks on a name: transaction-level advisory locks, and leases that outlive a transaction."""

from __future__ import annotations

import uuid

import asyncpg

Executor = asyncpg.Connection | asyncpg.Pool


async def lock_name(conn: asyncpg.Connection, name: str) -> None:
    """Serialise the transactions that take the same name (e.g. one org's creations counted against a limit)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)


async def take_lease(conn: Executor, name: str, holder: uuid.UUID, seconds: float) -> bool:
    """Take the lease on `name` for `seconds`, or extend it when `holder` has it already; False while another
    holder's lease has not run out."""
    taken = await conn.fetchval(
        "INSERT INTO upkeep_leases (name, holder, until) VALUES ($1, $2, now() + make_interval(secs => $3))"
        " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until"
        " WHERE upkeep_leases.holder = EXCLUDED.holder OR upkeep_leases.until < now()"
        " RETURNING true",
        name,
        holder,
        seconds,
    )
    return bool(taken)


async def release_lease(conn: Executor, name: str, holder: uuid.UUID) -> None:
    """Give the lease back if `holder` has it, so the next taker need not wait for it to run out."""
    await conn.execute("DELETE FROM upkeep_leases WHERE name = $1 AND holder = $2", name, holder)
