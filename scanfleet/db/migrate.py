"""Ordered SQL migrations, applied once under an advisory lock so concurrent migrators are safe."""

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
    """Apply pending migrations, then make today's and the next partitions. Returns versions applied."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, sql in available():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("applied migration %s", version)
            applied_now.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    await partitions.ensure_ahead(conn, datetime.now(UTC).date(), premake_days)
    return applied_now
