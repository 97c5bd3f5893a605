"""Shared by the benchmarks: an embedded PostgreSQL with a fresh, migrated database; clean exits."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from scanfleet.config import Settings
from scanfleet.embedded import EmbeddedPostgres
from scanfleet.supervisor import create_database, prepare_schema


def cancel_on_sigterm() -> None:
    """Call from the main task: SIGTERM cancels it, so its `finally` blocks stop servers and workers."""
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


async def start_postgres(data_dir: Path, settings: Settings, name: str = "bench") -> tuple[EmbeddedPostgres, str]:
    """A started server (stop it yourself) and the URL of database `name`, migrated and partitioned.

    The port answers before PostgreSQL accepts sessions ("the database system is starting up"), so
    connecting is retried for a while.
    """
    postgres = EmbeddedPostgres(data_dir)
    admin_url = postgres.start()  # blocking, briefly: a cancelled thread could leave a server behind
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


def stop_processes(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (arq's graceful stop), then SIGKILL whatever has not exited within 10 s."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
