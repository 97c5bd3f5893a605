"""Transaction-level advisory locks on a name: taken inside a transaction, released when it ends."""

from __future__ import annotations

import asyncpg


async def lock_name(conn: asyncpg.Connection, name: str) -> None:
    """Serialise the transactions that take the same name (e.g. one org's creations counted against a limit)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)
