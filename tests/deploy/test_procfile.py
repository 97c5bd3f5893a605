"""The Procfile under honcho, on the session's real servers: every process type starts and keeps running, the API
answers /readyz, and two workers register, each serving metrics and /healthz on the port honcho hands it."""

from __future__ import annotations

import functools
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scanfleet.broker import connection
from scanfleet.broker.keys import WORKERS as WORKERS_KEY
from scanfleet.config import Settings
from scanfleet.embedded import die_with_parent, free_port
from scanfleet.supervisor import prepare_schema
from tests.conftest import fresh_database, own_redis
from tests.support.site import eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 5  # a database of its own: these workers must not take the session's jobs, nor its worker theirs
WORKERS = 2
STARTUP_SECONDS = 60  # imports and connections of four processes on a shared, busy machine


@dataclass
class Honcho:
    process: subprocess.Popen[bytes]
    api_port: int
    scheduler_port: int
    worker_ports: list[int]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def honcho_base_port() -> int:
    """A base port whose worker ports are free: honcho gives process type i, copy j, the port base + 100 i + j."""
    while True:
        base = random.randrange(20000, 60000, 100)
        try:
            for port in range(base + 100, base + 100 + WORKERS):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base


@pytest.fixture
async def procfile_settings(settings: Settings, server_urls: tuple[str, str]) -> Settings:
    """A database and a Redis database of their own: a second scheduler would otherwise fire the session's
    schedules and deliver its webhooks."""
    database_url = await fresh_database(settings, server_urls[0])
    await prepare_schema(settings, database_url)
    return own_redis(settings, REDIS_DB, __name__).model_copy(update={"database_url": database_url})


@pytest.fixture
def honcho(procfile_settings: Settings, tmp_path: Path) -> Iterator[Honcho]:
    api_port, scheduler_port, base = free_port(), free_port(), honcho_base_port()
    empty_env_file = tmp_path / "empty.env"  # not the developer's .env
    empty_env_file.touch()
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # this venv's python
        "DATABASE_URL": str(procfile_settings.database_url),
        "REDIS_URL": str(procfile_settings.redis_url),
        "SCANFLEET_API_PORT": str(api_port),
        "SCANFLEET_SCHEDULER_METRICS_PORT": str(scheduler_port),
    }
    argv = [sys.executable, "-m", "honcho", "start", "--no-colour", "-e", str(empty_env_file), "-d", str(ROOT)]
    argv += ["-f", str(ROOT / "Procfile"), "-p", str(base), "-c", f"worker={WORKERS}"]
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    started = Honcho(process, api_port, scheduler_port, list(range(base + 100, base + 100 + WORKERS)), log)
    yield started
    # honcho passes SIGTERM on to every process, and kills what is left after its own 5 s.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def test_honcho_runs_every_process_of_the_procfile(honcho: Honcho, procfile_settings: Settings) -> None:
    redis = await connection.connect(procfile_settings)
    await redis.delete(WORKERS_KEY)
    try:
        async with httpx.AsyncClient(timeout=2) as client:

            async def get(port: int, path: str) -> httpx.Response | None:
                assert honcho.process.poll() is None, f"honcho stopped:\n{honcho.output()}"
                try:
                    return await client.get(f"http://127.0.0.1:{port}{path}")
                except httpx.TransportError:
                    return None

            async def api_ready() -> bool:
                response = await get(honcho.api_port, "/readyz")
                return response is not None and response.status_code == 200

            async def workers_registered() -> list[bytes]:
                assert honcho.process.poll() is None, f"honcho stopped:\n{honcho.output()}"
                registered = await redis.zrange(WORKERS_KEY, 0, -1)
                return registered if len(registered) == WORKERS else []

            async def metrics_with(port: int, sample: str) -> bool:
                response = await get(port, "/metrics")
                return response is not None and sample in response.text

            await eventually(api_ready, timeout=STARTUP_SECONDS, interval=0.2)
            await eventually(workers_registered, timeout=STARTUP_SECONDS, interval=0.2)
            # Each worker on the port honcho gave it: `-c worker=N` runs side by side.
            for port in honcho.worker_ports:
                await eventually(functools.partial(metrics_with, port, "scanfleet_worker_max_slots "), timeout=10)
            # The scheduler has been through an upkeep round against the database.
            await eventually(
                lambda: metrics_with(honcho.scheduler_port, "scanfleet_partition_horizon_days{"),
                timeout=STARTUP_SECONDS,
                interval=0.2,
            )
            # The liveness path the Kubernetes manifests probe: their event loops turn.
            for port in [*honcho.worker_ports, honcho.scheduler_port]:
                alive = await get(port, "/healthz")
                assert alive is not None and alive.status_code == 200, (port, alive and alive.text)
                assert alive.json()["status"] == "ok"
        # honcho stops everything as soon as one process exits: still running means all four are.
        assert honcho.process.poll() is None, honcho.output()
    finally:
        await redis.delete(WORKERS_KEY)
        await redis.aclose()
