"""What a running `scanfleet up` tells other commands, from any directory: where its data, servers, API and demo
site are. And the lock that keeps a second `up` out of the same data dir.

`up` writes the same runtime file twice: in its data dir, and in a per-user place ($XDG_RUNTIME_DIR/scanfleet,
else ~/.local/state/scanfleet), which names the most recently started `up`. A command reads the data dir's file
when SCANFLEET_DATA_DIR is set; otherwise the one in ./.scanfleet, else the per-user one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from scanfleet.addresses import allow_entry
from scanfleet.config import Settings

FILENAME = "runtime.json"
LOCK_FILENAME = "up.lock"


def user_dir(settings: Settings) -> Path:
    base = settings.runtime_dir or Path.home() / ".local" / "state"
    return base / "scanfleet"


@dataclass(frozen=True)
class Runtime:
    pid: int
    data_dir: str
    api_url: str
    database_url: str
    redis_url: str
    demo_url: str | None = None
    # The allow-list `up` gave its processes (its demo site's endpoint among them): workers that join get it too.
    allow: list[str] = field(default_factory=list)

    def save(self, settings: Settings) -> None:
        for directory in (settings.data_dir, user_dir(settings)):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = directory / FILENAME
            path.write_text(json.dumps(asdict(self)))
            path.chmod(0o600)  # it names the servers, which trust every local connection

    @staticmethod
    def clear(settings: Settings) -> None:
        """Remove this process's runtime files (the per-user one only if a later `up` has not replaced it)."""
        (settings.data_dir / FILENAME).unlink(missing_ok=True)
        mine = _read(user_dir(settings) / FILENAME)
        if mine is not None and mine.pid == os.getpid():
            (user_dir(settings) / FILENAME).unlink(missing_ok=True)

    @staticmethod
    def find(settings: Settings) -> Runtime | None:
        """The running `up` this command should use, if there is one."""
        if "data_dir" in settings.model_fields_set:
            return _live(settings.data_dir / FILENAME)
        return _live(settings.data_dir / FILENAME) or _live(user_dir(settings) / FILENAME)


def _read(path: Path) -> Runtime | None:
    try:
        return Runtime(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _live(path: Path) -> Runtime | None:
    runtime = _read(path)
    if runtime is None:
        return None
    try:
        os.kill(runtime.pid, 0)
    except ProcessLookupError:
        return None  # left behind by an `up` that was killed
    except PermissionError:
        pass  # alive, another user's
    return runtime


def resolve(settings: Settings) -> Settings:
    """Settings with what a running `scanfleet up` provides filled in where the environment sets nothing: its
    servers, its artifact directory, and the allow-list entries it gave its own workers."""
    if settings.database_url and settings.redis_url:
        return settings
    runtime = Runtime.find(settings)
    if runtime is None:
        return settings
    return settings.model_copy(
        update={
            "database_url": settings.database_url or runtime.database_url,
            "redis_url": settings.redis_url or runtime.redis_url,
            # The local artifact store is up's, whichever directory this command runs in.
            "artifact_dir": settings.artifact_dir or Path(runtime.data_dir) / "artifacts",
            "fetch_allow_networks": list(
                dict.fromkeys([*settings.fetch_allow_networks, *map(allow_entry, runtime.allow)])
            ),
        }
    )


def api_url(settings: Settings) -> str:
    """The API's URL: SCANFLEET_API_HOST/_PORT when set, else the running `up`'s, else the default."""
    runtime = None if {"api_host", "api_port"} & settings.model_fields_set else Runtime.find(settings)
    return runtime.api_url if runtime else f"http://{settings.api_host}:{settings.api_port}"


class AlreadyRunning(Exception):
    def __init__(self, pid: int | None) -> None:
        super().__init__(f"scanfleet is already running here (pid {pid if pid is not None else 'unknown'})")
        self.pid = pid


class UpLock:
    """Held for as long as an `up` runs on a data dir: an advisory lock the kernel drops when the process ends,
    however it ends, so a crashed `up` leaves nothing stale behind."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILENAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip()
            file.close()
            raise AlreadyRunning(int(holder) if holder.isdigit() else None) from None
        file.truncate(0)
        file.write(str(os.getpid()))
        file.flush()
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
