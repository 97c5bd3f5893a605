"""`scanfleet up` as a user runs it: real processes, embedded servers, the CLI, Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scanfleet.config import Settings
from scanfleet.worker.__main__ import EXIT_MARGIN_SECONDS
from tests.conftest import fresh_database
from tests.support.site import FixtureSite, Page, eventually, html, until
from tests.support.up import CLI, Platform, start

pytestmark = pytest.mark.e2e

LOOPBACK = {"SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8"}


@pytest.fixture
def embedded_platform(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(tmp_path, {"SCANFLEET_DATA_DIR": str(tmp_path / "data")} | LOOPBACK)
    yield platform
    platform.kill()


def test_up_runs_everything_on_embedded_servers_and_stops_on_ctrl_c(
    embedded_platform: Platform, site: FixtureSite, tmp_path: Path
) -> None:
    platform = embedded_platform
    platform.wait_until_up()
    assert (tmp_path / "data" / "runtime.json").exists()
    assert (tmp_path / "run" / "scanfleet" / "runtime.json").exists()  # for commands run in other directories

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

    # The worker gives the slot back and counts the job just after it commits the result that --wait saw.
    def usage() -> Any:
        return httpx.get(f"{platform.api}/v1/usage", headers={"Authorization": f"Bearer {key}"}).json()

    until(lambda: usage()["running"] == 0)
    assert usage()["limits"]["max_running"] == 3
    counted = 'scanfleet_jobs_total{outcome="succeeded",task="run_scan"} 1.0'
    until(lambda: counted in httpx.get(f"http://127.0.0.1:{platform.worker_port}/metrics").text)

    assert platform.interrupt() == 0
    assert not (tmp_path / "data" / "runtime.json").exists()
    assert not (tmp_path / "run" / "scanfleet" / "runtime.json").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{platform.api}/healthz", timeout=1)

    # Its own lines are plain text on stdout; the processes' logs stay JSON lines on stderr.
    own = platform.stdout.read_text().splitlines()
    for expected in ("embedded PostgreSQL on ", "schema ready", "started worker-0", "scanfleet is up", "demo site: "):
        assert any(line.startswith(expected) for line in own), (expected, own)
    assert own[-1] == "scanfleet stopped"
    assert not [line for line in own if line.startswith("{")]
    logged = [json.loads(line) for line in platform.stderr.read_text().splitlines() if line.startswith("{")]
    assert {"scanfleet.db.migrate", "uvicorn.error"} <= {entry["logger"] for entry in logged}


def test_a_second_up_in_the_same_place_says_so_and_leaves_the_first_alone(
    embedded_platform: Platform, tmp_path: Path
) -> None:
    first = embedded_platform
    first.wait_until_up()

    again = subprocess.run([*CLI, "up"], cwd=first.project, env=first.env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert again.stdout + again.stderr == f"error: scanfleet is already running here (pid {first.process.pid})\n"

    # Elsewhere, with the first one's API port: refused before anything starts, naming the port.
    elsewhere = subprocess.run(
        [*CLI, "up"], cwd=tmp_path, env=first.env | {"SCANFLEET_DATA_DIR": str(tmp_path / "other")},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert elsewhere.returncode == 1
    assert f"port {first.api_port} on 127.0.0.1 is in use" in elsewhere.stdout
    assert "SCANFLEET_API_PORT" in elsewhere.stdout and "Traceback" not in elsewhere.stdout + elsewhere.stderr
    assert not (tmp_path / "other" / "postgres").exists()

    assert httpx.get(f"{first.api}/readyz").status_code == 200
    assert first.interrupt() == 0


async def test_a_worker_started_in_another_terminal_joins_and_takes_jobs(tmp_path: Path, site: FixtureSite) -> None:
    """As README's Scaling workers says: `scanfleet worker` next to `scanfleet up`, from any directory. Its metrics
    port (worker 0's, as configured) is taken by up's own worker 0: it moves to a free one and says where."""
    platform = Platform(tmp_path, {"SCANFLEET_WORKER_MAX_JOBS": "1"} | LOOPBACK)
    joined: subprocess.Popen[bytes] | None = None
    try:
        platform.wait_until_up()
        assert platform.cli("org", "create", "acme", "--tier", "pro").returncode == 0
        key = platform.cli("key", "create", "--org", "acme").stdout.strip()

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        log = tmp_path / "joined.err"
        worker_env = platform.user_env | {
            "SCANFLEET_WORKER_METRICS_PORT": str(platform.worker_port),
            "SCANFLEET_WORKER_MAX_JOBS": "1",
        }
        joined = start(["worker"], cwd=elsewhere, env=worker_env, log=log)

        async def metrics_port() -> int | None:
            assert joined is not None and joined.poll() is None, log.read_text()
            moved = re.search(r"serving /metrics on 127\.0\.0\.1:(\d+) instead", log.read_text())
            return int(moved.group(1)) if moved and "Starting worker" in log.read_text() else None

        port = await eventually(metrics_port, timeout=30)

        # One job each at most: two slow scans at once run on both workers, or the second waits its turn.
        slow = Page(200, [("Content-Type", "text/html")], b"<html>slow</html>", delay=2.0)
        urls = [site.add(f"/slow-{uuid.uuid4().hex[:8]}", slow) for _ in range(2)]
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=platform.api, headers=headers) as client:
            ids = [(await client.post("/v1/scans", json={"url": url})).json()["id"] for url in urls]

            async def both_done() -> list[str] | None:
                statuses = [(await client.get(f"/v1/scans/{scan_id}")).json()["status"] for scan_id in ids]
                return statuses if all(status in ("succeeded", "failed") for status in statuses) else None

            assert await eventually(both_done, timeout=60) == ["succeeded", "succeeded"]

            async def counted_one() -> bool:  # counted just after the result is committed
                metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                return 'scanfleet_jobs_total{outcome="succeeded",task="run_scan"} 1.0' in metrics

            await eventually(counted_one)
    finally:
        if joined is not None:
            joined.terminate()
            joined.wait(timeout=60)
        platform.kill()


async def test_up_uses_configured_servers_and_its_children_die_with_it(
    settings: Settings, server_urls: tuple[str, str], tmp_path: Path
) -> None:
    database_url = await fresh_database(settings, server_urls[0])
    servers = {"DATABASE_URL": database_url, "REDIS_URL": server_urls[1], "SCANFLEET_DATA_DIR": str(tmp_path / "data")}
    platform = Platform(tmp_path, servers)
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
    # The fixture site is on loopback: allowed, the scan is still fetching when everything is killed (refused, it
    # would fail at once, and be running only for the moment before).
    platform = Platform(tmp_path / "data", {"SCANFLEET_WORKER_GRACE_SECONDS": str(grace),
                                            "SCANFLEET_SCAN_TIMEOUT_SECONDS": "120",
                                            "SCANFLEET_FETCH_READ_TIMEOUT_SECONDS": "120"} | LOOPBACK)  # fmt: skip
    try:
        platform.wait_until_up()
        # Pro: its 600 requests a minute outlast the polls below (a free key's 60 would be spent in a second).
        assert platform.cli("org", "create", "orphans", "--tier", "pro").returncode == 0
        key = platform.cli("key", "create", "--org", "orphans").stdout.strip().splitlines()[-1]
        # A scan the worker is still fetching when everything it was started by dies: it will drain for its grace.
        url = site.add(f"/never-done-{os.getpid()}", Page(200, [("Content-Type", "text/html")], b"<html/>", delay=60))
        async with httpx.AsyncClient(base_url=platform.api, headers={"Authorization": f"Bearer {key}"}) as api:
            scan = (await api.post("/v1/scans", json={"url": url})).json()

            async def running() -> bool:
                status: str = (await api.get(f"/v1/scans/{scan['id']}")).json()["status"]
                return status == "running"

            await eventually(running, timeout=30, interval=0.1)
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
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:  # it ended meanwhile
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):  # that thread ended meanwhile
            continue
        for child in map(int, children):
            found |= {child, *_descendants(child)}
    return found


def _name(pid: int) -> str:
    """The process's name; "" once it is gone (a backend may exit between listing and reading)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _alive(pid: int) -> bool:
    """Running, not a zombie nobody reaped (an orphan's new parent may never wait for it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or between the open and the read
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True
