"""Shared by the benchmarks: a process with all its descendants (a worker, its browser driver, Chromium's processes),
sampled while a run lasts for resident memory and CPU time."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MIB = 1024 * 1024


@dataclass(frozen=True)
class Usage:
    rss: int  # bytes, summed over the tree: pages shared between Chromium's processes count once per process
    # bytes, summed over the tree: pages private to one process. Unlike PSS it does not move with other programs
    # mapping the same files (other Chromiums on the machine); pages shared between the tree's processes are left out.
    uss: int
    cpu: float  # seconds (user + system) the tree has used, reaped descendants included
    processes: int


def usage(root: psutil.Process, with_uss: bool = True) -> Usage:
    """The tree's usage now. A dead child's CPU counts in its parent's children times once reaped, so summing
    the live tree's own and children times stays whole while renderers come and go."""
    rss = uss = processes = 0
    cpu = 0.0
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return Usage(0, 0, 0.0, 0)
    for process in tree:
        try:
            with process.oneshot():
                times = process.cpu_times()
                rss += process.memory_info().rss
                uss += process.memory_full_info().uss if with_uss else 0
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # gone meanwhile: its CPU moves to its parent's children times
        cpu += times.user + times.system + times.children_user + times.children_system
        processes += 1
    return Usage(rss, uss, cpu, processes)


SERVERS = ("postgres", "valkey")


def servers_cpu() -> dict[str, float]:
    """CPU seconds used so far by the servers this process started: PostgreSQL (its postmaster with its backends)
    and Valkey."""
    split = dict.fromkeys(SERVERS, 0.0)
    for child in psutil.Process().children():
        try:
            name = child.name()
        except psutil.Error:
            continue  # gone meanwhile
        part = "postgres" if "postgres" in name else "valkey" if "valkey" in name or "redis" in name else None
        if part is not None:
            split[part] += usage(child, with_uss=False).cpu
    return split


async def at_rest(root: psutil.Process, seconds: float = 2.0, interval: float = 0.1) -> Usage:
    """The tree's least memory over `seconds`: the processes of pages just closed take a moment to exit."""
    samples = []
    for _ in range(max(1, round(seconds / interval))):
        samples.append(usage(root))
        await asyncio.sleep(interval)
    return Usage(
        min(s.rss for s in samples), min(s.uss for s in samples), samples[-1].cpu, min(s.processes for s in samples)
    )


@dataclass
class Peaks:
    """What a sampled stretch of a run saw: peak memory, the most processes at once, CPU used in between."""

    rss: int = 0
    uss: int = 0
    processes: int = 0
    cpu: float = 0.0
    samples: int = 0
    _cpu_start: float = field(default=0.0, repr=False)

    def add(self, sample: Usage) -> None:
        self.rss, self.uss = max(self.rss, sample.rss), max(self.uss, sample.uss)
        self.processes = max(self.processes, sample.processes)
        self.cpu = sample.cpu - self._cpu_start
        self.samples += 1


@contextlib.asynccontextmanager
async def sampled(pid: int, interval: float = 0.1, uss_every: int = 5) -> AsyncIterator[Peaks]:
    """Sample the tree of `pid` every `interval` s (USS, which reads smaps_rollup, every `uss_every`th time) until
    leaving; the Peaks are complete once the block has left."""
    root = psutil.Process(pid)
    first = usage(root)
    peaks = Peaks(_cpu_start=first.cpu)
    peaks.add(first)

    async def sample() -> None:
        count = 0
        while True:
            await asyncio.sleep(interval)
            count += 1
            peaks.add(usage(root, with_uss=count % uss_every == 0))

    task = asyncio.create_task(sample())
    try:
        yield peaks
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        peaks.add(usage(root))


@contextlib.asynccontextmanager
async def process_tree(
    argv: Sequence[str], env: dict[str, str], log: Path, cwd: Path, piped: bool = False
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`argv` started with its output in `log` (stdout a pipe instead, and stdin too, if `piped`). Leaving stops
    it, errors included: its stdin closed, SIGTERM, SIGKILL past 15 s; then whatever it started that is still
    alive (a browser it failed to close) is killed by pid."""
    pipe = asyncio.subprocess.PIPE
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdin=pipe if piped else asyncio.subprocess.DEVNULL,
            stdout=pipe if piped else out, stderr=out,
        )  # fmt: skip
    try:
        yield process
    finally:
        try:
            started = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            started = []
        if process.stdin is not None:
            process.stdin.close()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
        for child in started:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()  # psutil checks it is the same process, not a reused pid
