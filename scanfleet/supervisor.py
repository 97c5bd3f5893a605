"""`scanfleet up`: the servers (embedded unless URLs are given), the schema, the demo site, then api + workers +
scheduler. Its own lines are plain text on stdout; the processes log JSON on stderr.

Children run in their own sessions, so Ctrl-C reaches only this supervisor, which stops them in order:
the processes first (SIGTERM, a grace period, then SIGKILL), the servers they use last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field

from scanfleet.chromium import HOW_TO_GET_ONE, chromium_path
from scanfleet.config import Settings
from scanfleet.db.migrate import migrate
from scanfleet.db.pool import connect
from scanfleet.demo import DemoSite
from scanfleet.embedded import EmbeddedPostgres, EmbeddedValkey, die_with_parent
from scanfleet.ports import listen_on
from scanfleet.runtime import Runtime, UpLock

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
    try:
        await _start_embedded(settings, servers)
    except BaseException:
        servers.stop()  # one that started does not outlive the one that failed
        raise
    return servers


async def _start_embedded(settings: Settings, servers: Servers) -> None:
    data_dir = settings.data_dir.resolve()
    if not servers.database_url:
        postgres = EmbeddedPostgres(data_dir / "postgres")
        servers.embedded.append(postgres)
        # Started from this (the main) thread: the servers' death signal is tied to the thread that forks them.
        admin_url = postgres.start()
        await create_database(settings, admin_url, DATABASE_NAME)
        servers.database_url = postgres.url(DATABASE_NAME)
        log.info("embedded PostgreSQL on %s", servers.database_url)
    if not servers.redis_url:
        valkey = EmbeddedValkey(data_dir / "valkey")
        servers.embedded.append(valkey)
        servers.redis_url = valkey.start()
        log.info("embedded Valkey on %s", servers.redis_url)


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


def plan_children(settings: Settings, servers: Servers, allow: list[str]) -> list[Child]:
    """The processes, on `servers`, with `allow` as their SSRF guard's allow-list."""
    env = {
        **os.environ,
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": servers.redis_url,
        "SCANFLEET_FETCH_ALLOW_NETWORKS": ",".join(allow),
        "SCANFLEET_ARTIFACT_DIR": str(settings.artifact_path.resolve()),  # one store for every child
    }
    python = sys.executable
    children = [
        Child("api", [python, "-m", "scanfleet.api"], env),
        Child("scheduler", [python, "-m", "scanfleet.scheduler"], env),
    ]
    children += [
        Child(f"worker-{index}", [python, "-m", "scanfleet.worker"], {**env, "SCANFLEET_WORKER_INDEX": str(index)})
        for index in range(settings.workers)
    ]
    chromium = chromium_path(settings.browser_executable)
    if chromium is None:
        log.info(
            "no browser found (%s): browser scans wait in their queue until a browser worker joins", HOW_TO_GET_ONE
        )
        return children
    log.info("browser worker: %s", chromium)
    browser_env = {**env, "SCANFLEET_WORKER_ENGINE": "browser", "SCANFLEET_WORKER_INDEX": str(settings.workers)}
    return [*children, Child("browser-worker", [python, "-m", "scanfleet.worker"], browser_env)]


class PortTaken(Exception):
    pass


def require_free_ports(settings: Settings) -> None:
    """Fail before starting anything when a fixed port of this platform is taken (by another `scanfleet up`, most
    likely): the process that needs it would die and take the platform down with it a moment later."""
    ports = [(settings.api_host, settings.api_port, "SCANFLEET_API_PORT")]
    if settings.scheduler_metrics_port:
        ports.append((settings.metrics_host, settings.scheduler_metrics_port, "SCANFLEET_SCHEDULER_METRICS_PORT"))
    for host, port, variable in ports:
        with socket.socket(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise PortTaken(
                    f"port {port} on {host} is in use ({exc.strerror}): is another scanfleet up running? "
                    f"Stop it, or set {variable}"
                ) from None


def start_demo(settings: Settings) -> DemoSite | None:
    if not settings.demo_port:
        return None
    demo, moved = listen_on(settings.demo_port, DemoSite)
    if moved:
        log.warning("port %s is in use: the demo site is on port %s instead", settings.demo_port, demo.port)
    return demo


async def run(settings: Settings) -> int:
    lock = UpLock(settings.data_dir)
    lock.acquire()  # AlreadyRunning when another `up` has this data dir
    try:
        require_free_ports(settings)
        return await _run(settings)
    finally:
        lock.release()


async def _run(settings: Settings) -> int:
    # Each process drains within its own grace period; past that and a margin, it is killed.
    grace_seconds = max(settings.worker_grace_seconds, settings.api_grace_seconds) + 10
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    servers = await start_servers(settings)
    children: list[Child] = []
    demo: DemoSite | None = None
    try:
        applied = await prepare_schema(settings, servers.database_url)
        log.info("schema ready (%s)", f"applied {', '.join(applied)}" if applied else "up to date")
        demo = start_demo(settings)
        # The demo site's endpoint opens it alone: not the API, the servers or anything else on loopback.
        allow = [*map(str, settings.fetch_allow_networks), *([demo.endpoint] if demo else [])]
        children = plan_children(settings, servers, allow)
        for child in children:
            await child.start()
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        Runtime(
            os.getpid(), str(settings.data_dir.resolve()), api_url, servers.database_url, servers.redis_url,
            demo.url if demo else None, allow,
        ).save(settings)  # fmt: skip
        log.info("scanfleet is up: API %s (docs %s/docs) — Ctrl-C stops it", api_url, api_url)
        if demo:
            # A scan needs a key, and a key an organisation: the first scan is three commands.
            log.info(
                "demo site: %s — a first scan, from another terminal: scanfleet org create acme && export "
                "SCANFLEET_API_KEY=$(scanfleet key create --org acme) && scanfleet scan %s --wait",
                demo.url,
                demo.url,
            )

        exits = {asyncio.ensure_future(child.process.wait()): child for child in children if child.process}
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        failed = [exits[task] for task in done if task in exits]
        for child in failed:
            log.error("%s exited with %s; stopping everything", child.name, child.process and child.process.returncode)
        return 1 if failed else 0
    finally:
        log.info("scanfleet is stopping…")
        await asyncio.gather(*(child.stop(grace_seconds) for child in children))
        Runtime.clear(settings)
        if demo:
            demo.stop()
        with contextlib.suppress(Exception):
            servers.stop()
        log.info("scanfleet stopped")
