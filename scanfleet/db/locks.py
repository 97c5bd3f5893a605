"""Locks on a name: transaction-level advisory locks, and leases that outlive a transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg

from scanfleet.db.errors import UNAVAILABLE
from scanfleet.db.pool import Connection, Executor

log = logging.getLogger(__name__)


async def lock_name(conn: Connection, name: str) -> None:
    """Serialise the transactions that take the same name (e.g. one org's creations counted against a limit)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)


async def fetchrow_alone(pool: asyncpg.Pool, name: str, query: str, *args: object) -> asyncpg.Record | None:
    """Run `query` in a transaction that holds the lock on `name`: a creation that counts what the org has
    already cannot pass the count alongside another one."""
    async with pool.acquire() as conn, conn.transaction():
        await lock_name(conn, name)
        return await conn.fetchrow(query, *args)


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


@contextlib.asynccontextmanager
async def lease(pool: asyncpg.Pool, name: str, seconds: float) -> AsyncIterator[bool]:
    """Hold the lease on `name` for the block: True, renewed every third of `seconds` however long a step takes,
    so only a holder that died (or cannot reach PostgreSQL) lets it run out; False, holding nothing, while
    another holder has it."""
    holder = uuid.uuid4()
    if not await take_lease(pool, name, holder, seconds):
        yield False
        return
    renewing = asyncio.create_task(_keep(pool, name, holder, seconds))
    try:
        yield True
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        with contextlib.suppress(*UNAVAILABLE):  # then it runs out by itself
            await release_lease(pool, name, holder)


async def _keep(pool: asyncpg.Pool, name: str, holder: uuid.UUID, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds / 3)
        try:
            if not await take_lease(pool, name, holder, seconds):
                log.warning("lease %s ran out and another holder has it", name)
                return
        except UNAVAILABLE as exc:
            log.warning("could not renew lease %s (%s); trying again", name, exc)
