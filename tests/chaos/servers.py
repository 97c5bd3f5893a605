"""The run's own PostgreSQL and Valkey (never the test session's: the faults stop and restart them).

Both keep their ports across restarts, so every process reconnects to the same address. Servers are
started from the main thread: their death signal is tied to the thread that forks them.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from scanfleet.config import Settings
from scanfleet.embedded import EmbeddedPostgres, EmbeddedValkey
from scanfleet.supervisor import DATABASE_NAME, create_database, prepare_schema


class ChaosServers:
    def __init__(self, root: Path) -> None:
        self.postgres = EmbeddedPostgres(root / "postgres")
        self.valkey = EmbeddedValkey(root / "valkey")
        self.database_url = ""
        self.redis_url = ""

    async def start(self, settings: Settings) -> None:
        admin_url = self.postgres.start()
        self.redis_url = self.valkey.start(persist=True)  # append-only file: a restart keeps the data
        await create_database(settings, admin_url, DATABASE_NAME)
        self.database_url = self.postgres.url(DATABASE_NAME)
        await prepare_schema(settings, self.database_url)

    def stop(self) -> None:
        """Whatever is running; safe after a failed start."""
        self.valkey.stop()
        self.postgres.stop()

    async def restart_valkey(self, down_seconds: float, keep_data: bool) -> None:
        self.valkey.stop()  # SIGTERM: Valkey flushes its append-only file before it exits
        if not keep_data:
            for name in ("appendonlydir", "dump.rdb"):
                path = self.valkey.data_dir / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        await asyncio.sleep(down_seconds)  # the outage itself
        self.valkey.start(persist=True)

    async def stop_postgres(self, down_seconds: float) -> None:
        self.postgres.stop()  # fast shutdown: open transactions roll back, every session is cut
        await asyncio.sleep(down_seconds)  # the outage itself
        self.postgres.start()
