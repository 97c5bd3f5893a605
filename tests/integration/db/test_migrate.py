"""Migrations apply once, in order, also when several processes migrate at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from scanfleet.config import Settings
from scanfleet.db import migrate
from scanfleet.db.pool import connect
from tests.conftest import fresh_database


async def _migrate(settings: Settings, url: str) -> list[str]:
    conn = await connect(settings, url)
    try:
        return await migrate.migrate(conn, premake_days=2)
    finally:
        await conn.close()


async def test_concurrent_then_repeated_migrations_apply_each_version_once(
    settings: Settings, server_urls: tuple[str, str]
) -> None:
    url = await fresh_database(settings, server_urls[0])
    results = await asyncio.gather(*(_migrate(settings, url) for _ in range(4)))
    versions = [version for version, _ in migrate.available()]
    # Each version applied by exactly one migrator, and every migrator applied its share in order.
    assert sorted(version for applied in results for version in applied) == versions
    assert all(applied == sorted(applied) for applied in results)
    assert await _migrate(settings, url) == []

    conn = await connect(settings, url)
    try:
        recorded = [row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")]
        assert sorted(recorded) == versions
        today = datetime.now(UTC).date()
        for table in ("scans", "evidence", "issues"):
            for offset in range(3):  # today and two days ahead
                name = f"{table}_{(today + timedelta(days=offset)):%Y%m%d}"
                assert await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name), name
            # No DEFAULT partition: it would block creating new ones.
            assert not await conn.fetchval(
                "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
                " WHERE c.relname = $1 AND p.partdefid <> 0",
                table,
            )
    finally:
        await conn.close()
