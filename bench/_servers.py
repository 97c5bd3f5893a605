"""Shared by the benchmarks: an embedded PostgreSQL with a fresh, migrated database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg

from scanfleet.config import Settings
from scanfleet.embedded import EmbeddedPostgres
from scanfleet.supervisor import create_database, prepare_schema


async def start_postgres(data_dir: Path, settings: Settings, name: str = "bench") -> tuple[EmbeddedPostgres, str]:
    """A started server (stop it yourself) and the URL of database `name`, migrated and partitioned.

    The port answers before PostgreSQL accepts sessions ("the database system is starting up"), so
    connecting is retried for a while.
    """
    postgres = EmbeddedPostgres(data_dir)
    admin_url = await asyncio.to_thread(postgres.start)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                await create_database(settings, admin_url, name)
                break
            except (asyncpg.CannotConnectNowError, OSError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        database_url = postgres.url(name)
        await prepare_schema(settings, database_url)
    except BaseException:
        postgres.stop()
        raise
    return postgres, database_url
