"""`python -m scanfleet.api` with several worker processes behind one port: /metrics answers for all of them, SIGTERM
stops every one of them cleanly, and a supervisor killed outright takes its workers with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from scanfleet.config import Settings
from scanfleet.embedded import die_with_parent, free_port
from tests.support.site import eventually

pytestmark = pytest.mark.e2e
WORKERS = 2


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": str(settings.database_url), "REDIS_URL": str(settings.redis_url),
        "SCANFLEET_API_PORT": str(port), "SCANFLEET_API_WORKERS": str(WORKERS),
    }  # fmt: skip
    with (tmp_path / "api.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "scanfleet.api"], env=env, stderr=log, preexec_fn=die_with_parent
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


async def serving(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:

        async def up() -> bool:
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up, timeout=60)


def workers_of(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    # uvicorn's spawned workers, not multiprocessing's resource tracker beside them.
    return [child for child in psutil.Process(process.pid).children() if "spawn_main" in " ".join(child.cmdline())]


async def test_metrics_count_every_workers_requests(api: tuple[subprocess.Popen[bytes], str]) -> None:
    process, base_url = api
    await serving(base_url)
    assert len(workers_of(process)) == WORKERS

    def healthz_count(text: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith("scanfleet_http_requests_total{")]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if 'route="/healthz"' in line)

    async with httpx.AsyncClient(base_url=base_url) as client:
        before = healthz_count((await client.get("/metrics")).text)
        for _ in range(40):  # new connections: the kernel hands them to either worker
            async with httpx.AsyncClient(base_url=base_url) as fresh:
                assert (await fresh.get("/healthz")).status_code == 200
        assert healthz_count((await client.get("/metrics")).text) == before + 40


async def test_sigterm_stops_every_worker(api: tuple[subprocess.Popen[bytes], str]) -> None:
    process, base_url = api
    await serving(base_url)
    workers = workers_of(process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive and len(gone) == WORKERS


async def test_a_supervisor_killed_outright_takes_its_workers(api: tuple[subprocess.Popen[bytes], str]) -> None:
    process, base_url = api
    await serving(base_url)
    workers = workers_of(process)
    process.kill()
    process.wait(30)
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive
