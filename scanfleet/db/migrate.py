"""Ordered SQL migrations, each applied once under an advisory lock so concurrent migrators are safe."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from scanfleet.db import partitions

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x5CA9F1EE7  # one advisory lock id for "migrating scanfleet"

log = logging.getLogger(__name__)


def available() -> list[tuple[str, str]]:
    """(version, sql) for every migration file, in order: 0001_x.sql < 0002_y.sql."""
    return [(path.stem, path.read_text()) for path in sorted(MIGRATIONS_DIR.glob("*.sql"))]


async def migrate(conn: asyncpg.Connection, premake_days: int) -> list[str]:
    """Apply pending migrations, then make today's and the next partitions. Returns versions applied.

    Each migration is one transaction holding a transaction-level advisory lock, and checks under it that no
    other migrator applied it first: no session state, so this works through PgBouncer in transaction mode.
    """
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for version, sql in available():
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            if await conn.fetchval("SELECT 1 FROM schema_migrations WHERE version = $1", version):
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        log.info("applied migration %s", version)
        applied_now.append(version)
    await partitions.ensure_ahead(conn, datetime.now(UTC).date(), premake_days)
    return applied_now
