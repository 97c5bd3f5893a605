"""`scanfleet up`: the servers (embedded unless URLs are given), the schema, then api + workers + scheduler.

Children run in their own sessions, so Ctrl-C reaches only this supervisor, which stops them in order:
the processes first (SIGTERM, a grace period, then SIGKILL), the servers they use last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass, field

from scanfleet.config import Settings
from scanfleet.db.migrate import migrate
from scanfleet.db.pool import connect
from scanfleet.embedded import EmbeddedPostgres, EmbeddedValkey, die_with_parent
from scanfleet.runtime import Runtime

log = logging.getLogger("scanfleet.up")

DATABASE_NAME = "scanfleet"


@dataclass
class Servers:
    database_url: str
    redis_url: str
    embedded: list[EmbeddedPostgres | EmbeddedValkey] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self.embedded):
            server.stop()


async def start_servers(settings: Settings) -> Servers:
    """The configured servers, or embedded ones under data_dir (their data kept between runs)."""
    servers = Servers(settings.database_url or "", settings.redis_url or "")
    data_dir = settings.data_dir.resolve()
    if not servers.database_url:
        postgres = EmbeddedPostgres(data_dir / "postgres")
        # Started from this (the main) thread: the servers' death signal is tied to the thread that forks them.
        admin_url = postgres.start()
        servers.embedded.append(postgres)
        await create_database(settings, admin_url, DATABASE_NAME)
        servers.database_url = postgres.url(DATABASE_NAME)
        log.info("embedded PostgreSQL on %s", servers.database_url)
    if not servers.redis_url:
        valkey = EmbeddedValkey(data_dir / "valkey")
        servers.redis_url = valkey.start()
        servers.embedded.append(valkey)
        log.info("embedded Valkey on %s", servers.redis_url)
    return servers


async def create_database(settings: Settings, admin_url: str, name: str) -> None:
    conn = await connect(settings, admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def prepare_schema(settings: Settings, database_url: str) -> list[str]:
    conn = await connect(settings, database_url)
    try:
        return await migrate(conn, settings.partition_premake_days)
    finally:
        await conn.close()


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, start_new_session=True, preexec_fn=die_with_parent
        )
        log.info("started %s (pid %s)", self.name, self.process.pid)

    async def stop(self, grace: float) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            log.warning("%s did not stop within %ss; killing it", self.name, grace)
            self.process.kill()
            await self.process.wait()


def plan_children(settings: Settings, servers: Servers) -> list[Child]:
    env = {**os.environ, "DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis_url}
    python = sys.executable
    children = [
        Child("api", [python, "-m", "scanfleet.api"], env),
        Child("scheduler", [python, "-m", "scanfleet.scheduler"], env),
    ]
    children += [
        Child(f"worker-{index}", [python, "-m", "scanfleet.worker"], {**env, "SCANFLEET_WORKER_INDEX": str(index)})
        for index in range(settings.workers)
    ]
    return children


async def run(settings: Settings) -> int:
    # Each process drains within its own grace period; past that and a margin, it is killed.
    grace_seconds = max(settings.worker_grace_seconds, settings.api_grace_seconds) + 10
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    servers = await start_servers(settings)
    children: list[Child] = []
    try:
        applied = await prepare_schema(settings, servers.database_url)
        log.info("schema ready (%s)", f"applied {', '.join(applied)}" if applied else "up to date")
        children = plan_children(settings, servers)
        for child in children:
            await child.start()
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        Runtime(os.getpid(), servers.database_url, servers.redis_url, api_url).save(settings.data_dir)
        print(f"scanfleet is up: API {api_url} (docs {api_url}/docs) — Ctrl-C stops it", flush=True)

        exits = {asyncio.ensure_future(child.process.wait()): child for child in children if child.process}
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        failed = [exits[task] for task in done if task in exits]
        for child in failed:
            log.error("%s exited with %s; stopping everything", child.name, child.process and child.process.returncode)
        return 1 if failed else 0
    finally:
        print("scanfleet is stopping…", flush=True)
        await asyncio.gather(*(child.stop(grace_seconds) for child in children))
        Runtime.clear(settings.data_dir)
        with contextlib.suppress(Exception):
            servers.stop()
        print("scanfleet stopped", flush=True)
