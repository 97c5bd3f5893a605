"""Shared by the benchmarks: an embedded PostgreSQL with a fresh, migrated database, Valkey beside it; clean exits."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import httpx

from scanfleet.config import Settings
from scanfleet.db import api_keys, orgs, partitions, scans
from scanfleet.db.pool import create_pool
from scanfleet.embedded import EmbeddedPostgres, EmbeddedValkey
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


@contextlib.asynccontextmanager
async def scratch_postgres(prefix: str, settings: Settings) -> AsyncIterator[tuple[str, Path]]:
    """`start_postgres` in a temporary directory (its name begins with `prefix`): the database's URL and the directory.

    Leaving stops the server and removes the directory, errors included.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        postgres, database_url = await start_postgres(Path(tmp) / "postgres", settings)
        try:
            yield database_url, Path(tmp)
        finally:
            postgres.stop()


@contextlib.asynccontextmanager
async def scratch_pool(prefix: str, settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool (sized by `settings`) on the database of `scratch_postgres`; closed before the server stops."""
    async with scratch_postgres(prefix, settings) as (database_url, _):
        pool = await create_pool(settings, database_url)
        try:
            yield pool
        finally:
            await pool.close()


@contextlib.asynccontextmanager
async def postgres_and_valkey(
    prefix: str, base: Settings, persist: bool = True
) -> AsyncIterator[tuple[Settings, Path]]:
    """`scratch_postgres` and an embedded Valkey beside it: `base` with both URLs, and an empty logs directory."""
    async with scratch_postgres(prefix, base) as (database_url, root):
        (root / "logs").mkdir()
        valkey = EmbeddedValkey(root / "valkey")
        try:
            redis_url = valkey.start(persist=persist)
            yield base.model_copy(update={"database_url": database_url, "redis_url": redis_url}), root / "logs"
        finally:
            valkey.stop()


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


UNLIMITED = 10**9  # an organisation's running and queued jobs


@contextlib.asynccontextmanager
async def scheduler_upkeep(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[None]:
    """The scheduler's rounds that a submission's lookup depends on, on the scheduler's interval, while the block
    runs: statistics for filling partitions (a fresh database's are all filling, and their plans would be made for
    empty ones) and the bound of the days it reads."""

    async def upkeep() -> None:
        while True:
            await asyncio.sleep(settings.scheduler_interval_seconds)
            try:
                await partitions.analyze_filling(pool)
                await scans.bound_open(pool)
            except (asyncpg.PostgresError, OSError) as exc:  # as the scheduler's rounds: tried again next time
                print(f"upkeep failed: {exc!r}", file=sys.stderr, flush=True)

    running = asyncio.create_task(upkeep())
    try:
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


@contextlib.asynccontextmanager
async def bench_api(
    settings: Settings, pool: asyncpg.Pool, tier: str
) -> AsyncIterator[tuple[httpx.AsyncClient, uuid.UUID]]:
    """The API in this process (httpx.ASGITransport: no server or socket in between), and the id of an organisation
    of `tier` whose own running and queued limits let every http-engine scan straight on to its queue: the fleet is
    what is measured. The client sends the organisation's key."""
    from scanfleet.api.app import create_app

    org = await orgs.create(pool, "bench", tier)
    await orgs.set_capacity(pool, org.id, tier, UNLIMITED, UNLIMITED)
    _, key = await api_keys.create(pool, org.id, "bench")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://scanfleet.bench", headers=headers) as api:
            yield api, org.id
