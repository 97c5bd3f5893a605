"""Which running `scanfleet up` a command finds, from where it is run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanfleet.addresses import allow_entry
from scanfleet.config import Settings
from scanfleet.runtime import AlreadyRunning, Runtime, UpLock, api_url, resolve


def runtime(data_dir: Path, pid: int | None = None, port: int = 8000) -> Runtime:
    return Runtime(
        pid or os.getpid(), str(data_dir), f"http://127.0.0.1:{port}", "postgresql://db", "redis://r",
        "http://127.0.0.1:8001/", ["127.0.0.1:8001"],
    )  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "REDIS_URL", "SCANFLEET_DATA_DIR", "SCANFLEET_API_PORT", "SCANFLEET_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path


def test_a_command_in_another_directory_finds_the_up_by_its_per_user_file(home: Path) -> None:
    started_in = Settings(data_dir=home / "project" / ".scanfleet")
    runtime(started_in.data_dir, port=8123).save(started_in)

    elsewhere = Settings()
    found = resolve(elsewhere)
    assert (found.database_url, found.redis_url) == ("postgresql://db", "redis://r")
    assert found.fetch_allow_networks == [allow_entry("127.0.0.1:8001")]  # what up's own workers allow
    assert api_url(elsewhere) == "http://127.0.0.1:8123"
    assert api_url(Settings(api_port=9000)) == "http://127.0.0.1:9000"  # set: it wins

    Runtime.clear(started_in)
    assert resolve(Settings()).database_url is None


def test_an_explicit_data_dir_is_the_only_place_looked_at(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started_in = Settings(data_dir=home / "project" / ".scanfleet")
    runtime(started_in.data_dir).save(started_in)
    monkeypatch.setenv("SCANFLEET_DATA_DIR", str(home / "another"))
    assert Runtime.find(Settings()) is None
    monkeypatch.setenv("SCANFLEET_DATA_DIR", str(started_in.data_dir))
    assert Runtime.find(Settings()) is not None


def test_the_file_of_an_up_that_was_killed_is_ignored(home: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    started_in = Settings(data_dir=home / "project" / ".scanfleet")
    runtime(started_in.data_dir, pid=int(gone.stdout)).save(started_in)
    assert Runtime.find(Settings()) is None


LOCK_IN_ANOTHER_PROCESS = (
    "import pathlib, sys; from scanfleet.runtime import UpLock; UpLock(pathlib.Path(sys.argv[1])).acquire()"
)


def test_one_up_per_data_dir(tmp_path: Path) -> None:
    held = UpLock(tmp_path)
    held.acquire()
    other = subprocess.run(
        [sys.executable, "-c", LOCK_IN_ANOTHER_PROCESS, str(tmp_path)], capture_output=True, text=True
    )
    assert other.returncode != 0
    assert f"{AlreadyRunning.__name__}: scanfleet is already running here (pid {os.getpid()})" in other.stderr
    held.release()
    assert subprocess.run([sys.executable, "-c", LOCK_IN_ANOTHER_PROCESS, str(tmp_path)]).returncode == 0
