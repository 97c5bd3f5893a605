"""`scanfleet up` as a user runs it, in a directory of its own, on free ports; and the CLI beside it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scanfleet.embedded import free_port

CLI = [sys.executable, "-m", "scanfleet"]
# What a shell the user opens has of this environment: no scanfleet settings, no servers.
_NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "XDG_RUNTIME_DIR", "SCANFLEET_API_KEY")


def start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A `scanfleet` command left running, its stdout and stderr in `log`."""
    with log.open("w") as sink:
        return subprocess.Popen([*CLI, *args], cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)


def user_env(root: Path) -> dict[str, str]:
    """A login of the user's own under `root`: the virtualenv's commands on PATH, a home and a runtime dir there."""
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED and "SCANFLEET_" not in key}
    return env | {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "HOME": str(root / "home"),
        "XDG_RUNTIME_DIR": str(root / "run"),
    }


class Platform:
    """`scanfleet up` started in `root`/project (its data under .scanfleet there, unless `extra_env` names a
    SCANFLEET_DATA_DIR), its own lines on stdout and its processes' logs on stderr, kept apart."""

    def __init__(self, root: Path, extra_env: dict[str, str] | None = None, project: str = "project") -> None:
        self.root = root
        self.project = root / project
        self.project.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        self.worker_port = free_port()
        self.user_env = user_env(root)
        # The ports are the test's, so parallel runs do not meet; a newcomer has the defaults.
        self.env = (
            self.user_env
            | {
                "SCANFLEET_API_PORT": str(self.api_port),
                "SCANFLEET_WORKERS": "1",
                "SCANFLEET_WORKER_METRICS_PORT": str(self.worker_port),
                "SCANFLEET_SCHEDULER_METRICS_PORT": str(free_port()),
                "SCANFLEET_DEMO_PORT": str(free_port()),
            }
            | (extra_env or {})
        )
        self.stdout = root / f"{project}-up.out"
        self.stderr = root / f"{project}-up.err"
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen([*CLI, "up"], cwd=self.project, env=self.env, stdout=out, stderr=err)
        self.api = f"http://127.0.0.1:{self.api_port}"

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()

    def wait_until_up(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"scanfleet up exited:\n{self.output()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.api}/readyz", timeout=1).status_code == 200 and self.demo_url:
                    assert "scanfleet is up" in self.stdout.read_text()
                    return
            time.sleep(0.05)  # also after a 503: not ready yet, ask again shortly
        raise AssertionError(f"API never became ready:\n{self.output()}")

    @property
    def demo_url(self) -> str | None:
        """The demo site's URL, as `up` printed it."""
        found = re.search(r"demo site: (\S+)", self.stdout.read_text())
        return found.group(1) if found else None

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], cwd=cwd or self.project, env=self.env, capture_output=True, text=True, timeout=120
        )

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
