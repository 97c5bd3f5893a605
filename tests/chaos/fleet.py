"""The platform's real processes — `python -m scanfleet.api`, N × `python -m scanfleet.worker`,
`python -m scanfleet.scheduler` — each logging to a file of its own. A process that exits without being told to
is recorded and started again, as an orchestrator would; the harness's own kills and rolls are not counted."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scanfleet.embedded import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
# arq logs a job's start ("→") and each way it ends; the ids between tell what a worker has in hand.
_JOB_EVENT = re.compile(r"(→|←|↻|⊘|!) (job:[0-9a-f-]+):")


@dataclass
class Exit:
    name: str
    returncode: int | None
    at: float
    tail: list[str]


@dataclass
class Process:
    name: str
    module: str
    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    expected_exit: bool = False  # stopped by the harness: its exit is no finding
    _read: int = 0
    open_jobs: set[str] = field(default_factory=set)

    async def start(self) -> None:
        self.open_jobs.clear()  # a fresh process has nothing in hand
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, env=self.env, cwd=ROOT, stdout=log, stderr=log,
                start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def signal(self, sig: signal.Signals) -> None:
        if self.alive:
            assert self.process is not None
            self.expected_exit = True
            self.process.send_signal(sig)

    async def wait(self, timeout: float) -> bool:
        """True if it exited within `timeout`."""
        if self.process is None:
            return True
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def messages(self) -> Iterator[str]:
        """Log messages written since the last call (JSON lines; anything else as it is)."""
        with self.log_path.open("rb") as log:
            log.seek(self._read)
            data = log.read()
        complete = data.rfind(b"\n") + 1
        self._read += complete
        for line in data[:complete].decode(errors="replace").splitlines():
            try:
                yield str(json.loads(line).get("msg", ""))
            except (ValueError, AttributeError):
                yield line

    def jobs_in_hand(self) -> set[str]:
        for message in self.messages():
            for mark, job in _JOB_EVENT.findall(message):
                if mark == "→":
                    self.open_jobs.add(job)
                else:
                    self.open_jobs.discard(job)
        return set(self.open_jobs)

    def tail(self, lines: int = 15) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()[-lines:]


class Fleet:
    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.api: Process | None = None
        self.scheduler: Process | None = None
        self.workers: list[Process] = []
        self.retired: list[Process] = []  # killed or rolled workers, kept for their logs
        self.exits: list[Exit] = []  # exits nobody asked for
        self._next_worker = 0
        self._watch: asyncio.Task[None] | None = None

    def _process(self, name: str, module: str, extra: dict[str, str] | None = None) -> Process:
        return Process(name, module, {**self.env, **(extra or {})}, self.log_dir / f"{name}.log")

    async def start(self, workers: int) -> None:
        self.api = self._process("api", "scanfleet.api")
        self.scheduler = self._process("scheduler", "scanfleet.scheduler")
        await self.api.start()
        await self.scheduler.start()
        for _ in range(workers):
            await self.add_worker()
        self._watch = asyncio.create_task(self._restart_unexpected_exits())

    async def add_worker(self) -> Process:
        index = self._next_worker
        self._next_worker += 1
        worker = self._process(f"worker-{index}", "scanfleet.worker", {"SCANFLEET_WORKER_INDEX": str(index)})
        await worker.start()
        self.workers.append(worker)
        return worker

    def retire(self, worker: Process) -> None:
        self.workers.remove(worker)
        self.retired.append(worker)

    def all(self) -> list[Process]:
        return [p for p in (self.api, self.scheduler) if p is not None] + self.workers + self.retired

    async def _restart_unexpected_exits(self) -> None:
        while True:
            for process in [p for p in (self.api, self.scheduler, *self.workers) if p is not None]:
                if process.process is not None and not process.alive and not process.expected_exit:
                    returncode = process.process.returncode
                    self.exits.append(Exit(process.name, returncode, time.monotonic(), process.tail()))
                    await process.start()
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        processes = [p for p in self.all() if p.alive]
        for process in processes:
            process.signal(signal.SIGTERM)
        for process in processes:
            if not await process.wait(15):
                process.signal(signal.SIGKILL)
                await process.wait(5)
