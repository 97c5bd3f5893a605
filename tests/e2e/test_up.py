"""`scanfleet up` as a user runs it: real processes, embedded servers, the CLI, Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scanfleet.config import Settings
from scanfleet.embedded import free_port
from scanfleet.worker.__main__ import EXIT_MARGIN_SECONDS
from tests.conftest import fresh_database
from tests.support.site import FixtureSite, Page, eventually, html

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "scanfleet"]


class Platform:
    def __init__(self, data_dir: Path, extra_env: dict[str, str]) -> None:
        self.api_port = free_port()
        self.worker_port = free_port()
        self.env = (
            {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
            | {
                "SCANFLEET_DATA_DIR": str(data_dir),
                "SCANFLEET_API_PORT": str(self.api_port),
                "SCANFLEET_WORKERS": "1",
                "SCANFLEET_WORKER_METRICS_PORT": str(self.worker_port),
                "SCANFLEET_SCHEDULER_METRICS_PORT": str(free_port()),
                "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            }
            | extra_env
        )
        self.log = data_dir.parent / "up.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen([*CLI, "up"], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.api = f"http://127.0.0.1:{self.api_port}"

    def wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"scanfleet up exited:\n{self.log.read_text()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.api}/readyz", timeout=1).status_code == 200:
                    assert "scanfleet is up" in self.log.read_text()
                    return
            time.sleep(0.05)  # also after a 503: not ready yet, ask again shortly
        raise AssertionError(f"API never became ready:\n{self.log.read_text()}")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


@pytest.fixture
def embedded_platform(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(tmp_path / "data", {})
    yield platform
    if platform.process.poll() is None:
        platform.process.kill()


def test_up_runs_everything_on_embedded_servers_and_stops_on_ctrl_c(
    embedded_platform: Platform, site: FixtureSite, tmp_path: Path
) -> None:
    platform = embedded_platform
    platform.wait_until_up()
    assert (tmp_path / "data" / "runtime.json").exists()

    created = platform.cli("org", "create", "acme", "--tier", "pro")
    assert created.returncode == 0, created.stderr
    assert "acme (pro)" in created.stdout
    changed = platform.cli("org", "set", "acme", "--max-running", "3")
    assert changed.returncode == 0, changed.stderr
    assert "acme: pro, 3 running / 50 queued" in changed.stdout
    key_out = platform.cli("key", "create", "--org", "acme")
    assert key_out.returncode == 0, key_out.stderr
    key = key_out.stdout.strip().splitlines()[-1]
    assert key.startswith("sf_")

    url = site.add("/up-page", html("<html><script src='https://cdn.example.com/a.js'></script></html>"))
    scanned = platform.cli("scan", url, "--wait", "--key", key, "--timeout", "60")
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    assert "status      succeeded" in scanned.stdout
    assert "third_party_scripts" in scanned.stdout

    usage = httpx.get(f"{platform.api}/v1/usage", headers={"Authorization": f"Bearer {key}"}).json()
    assert usage["limits"]["max_running"] == 3 and usage["running"] == 0

    worker_metrics = httpx.get(f"http://127.0.0.1:{platform.worker_port}/metrics").text
    assert 'scanfleet_jobs_total{outcome="succeeded",task="run_scan"} 1.0' in worker_metrics

    assert platform.interrupt() == 0
    assert not (tmp_path / "data" / "runtime.json").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{platform.api}/healthz", timeout=1)


async def test_up_uses_configured_servers_and_its_children_die_with_it(
    settings: Settings, server_urls: tuple[str, str], tmp_path: Path
) -> None:
    database_url = await fresh_database(settings, server_urls[0])
    platform = Platform(tmp_path / "data", {"DATABASE_URL": database_url, "REDIS_URL": server_urls[1]})
    try:
        platform.wait_until_up()
        assert not (tmp_path / "data" / "postgres").exists()
        assert not (tmp_path / "data" / "valkey").exists()
    finally:
        platform.process.kill()  # no chance to clean up: the children must go by themselves
        platform.process.wait()
    deadline = time.monotonic() + 30
    while _listening(platform.api_port) or _listening(platform.worker_port):
        assert time.monotonic() < deadline, "children outlived a killed scanfleet up"
        await asyncio.sleep(0.05)


async def test_a_killed_up_leaves_no_process_and_no_database_behind(site: FixtureSite, tmp_path: Path) -> None:
    grace = 10
    platform = Platform(tmp_path / "data", {"SCANFLEET_WORKER_GRACE_SECONDS": str(grace),
                                            "SCANFLEET_SCAN_TIMEOUT_SECONDS": "120",
                                            "SCANFLEET_FETCH_READ_TIMEOUT_SECONDS": "120"})  # fmt: skip
    try:
        platform.wait_until_up()
        assert platform.cli("org", "create", "orphans").returncode == 0
        key = platform.cli("key", "create", "--org", "orphans").stdout.strip().splitlines()[-1]
        # A scan the worker is still fetching when everything it was started by dies: it will drain for its grace.
        url = site.add(f"/never-done-{os.getpid()}", Page(200, [("Content-Type", "text/html")], b"<html/>", delay=60))
        async with httpx.AsyncClient(base_url=platform.api, headers={"Authorization": f"Bearer {key}"}) as api:
            scan = (await api.post("/v1/scans", json={"url": url})).json()

            async def running() -> bool:
                return (await api.get(f"/v1/scans/{scan['id']}")).json()["status"] == "running"

            await eventually(running, timeout=30)
        family = _descendants(platform.process.pid)
        servers = {pid for pid in family if _name(pid) in ("postgres", "valkey-server")}
        assert len(servers) >= 2, family
    finally:
        platform.process.kill()  # no chance to clean up: the children must go by themselves
        platform.process.wait()
    killed_at = time.monotonic()
    # PostgreSQL ends its sessions rather than wait for the draining worker's to close, and goes at once…
    while alive := {pid for pid in servers if _alive(pid)}:
        assert time.monotonic() - killed_at < 5, f"servers outlived a killed scanfleet up: {alive}"
        await asyncio.sleep(0.05)
    # … and the rest within the worker's grace and margin, though the database it would hand back to is gone.
    while alive := {pid for pid in family if _alive(pid)}:
        assert time.monotonic() - killed_at < grace + EXIT_MARGIN_SECONDS + 5, f"orphans left: {alive}"
        await asyncio.sleep(0.1)


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in map(int, (task / "children").read_text().split()):
            found |= {child, *_descendants(child)}
    return found


def _name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _alive(pid: int) -> bool:
    """Running, not a zombie nobody reaped (an orphan's new parent may never wait for it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True
