"""Commands with no platform to talk to: one line saying what could not be reached, and exit code 4."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scanfleet.embedded import free_port
from tests.support.up import CLI, user_env

pytestmark = pytest.mark.e2e


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=tmp_path, env=user_env(tmp_path) | env, capture_output=True, text=True, timeout=60
    )


def test_a_scan_with_no_api_to_reach_says_so_in_one_line(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    done = run(tmp_path, "scan", "https://example.com/", "--wait", "--key", "sf_x", SCANFLEET_API_PORT=str(port))
    assert done.returncode == 4
    assert done.stderr.startswith(
        f"cannot reach the scanfleet API at http://127.0.0.1:{port}: is `scanfleet up` running? ("
    )
    assert done.stderr.count("\n") == 1 and not done.stdout


def test_a_database_command_with_no_postgresql_to_reach_says_so_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    done = run(tmp_path, "org", "list", DATABASE_URL=f"postgresql://scanfleet:secret@127.0.0.1:{port}/scanfleet")
    assert done.returncode == 4
    assert done.stderr.startswith(
        f"cannot reach PostgreSQL at postgresql://scanfleet:***@127.0.0.1:{port}/scanfleet: is `scanfleet up` running?"
    )
    assert done.stderr.count("\n") == 1 and "secret" not in done.stderr
