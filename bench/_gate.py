"""Shared by the gate benchmarks (bench/gate_*.py, bench/dispatch_latency.py): a Valkey, benchmark workers,
payloads.

Each benchmark starts its own embedded Valkey (no persistence) in a temporary directory and, where it
needs workers, real arq worker processes: `python -m bench._gate --redis URL [--gated] ...`. Their one
task, `bench_task(tag)`, sleeps a fixed service time and then writes "tag start end" (unix seconds, the
host clock every process shares) to the hash `bench:runs` under its job id; `bench_task(tag, hold=S)`
instead adds its job id to the set `bench:holding` and sleeps S seconds (a long job holding its slot).
`--gated` builds the worker as worker/app.py builds the platform's: the broker's FleetWorker, each task run
between the gate steps a delivery takes (`Gate.start` with a holder, then `Gate.finish`, which frees the
slot and dispatches the org's next job), taking the gate's ready jobs (`--arq-poll`: arq's own poll of its
queue instead), plus `FleetWorker.wake_on_dispatch` (a poll as soon as the gate leaves a wake-up token),
unless `--no-wake`. Without `--gated` the task is the same body on plain arq, polling only. Both get the
platform's arq options (keep_result 60, allow_abort_jobs, max_tries 3).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from arq import func
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import serialize_job

from bench._report import comma_list
from bench._servers import stop_processes
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import GateKeys
from scanfleet.broker.worker import FleetWorker
from scanfleet.embedded import EmbeddedValkey, die_with_parent

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
TASK = "bench_task"
RUNS = "bench:runs"  # hash: job id -> "tag start end", written by the task when it ends
READY = "bench:ready"  # set: pids of the workers whose on_startup has run
HOLDING = "bench:holding"  # set: ids of the holding jobs that have started
LEASE_SECONDS = 15.0  # the platform's default lease
_LOG_NUMBERS = itertools.count()


@dataclass(frozen=True)
class Run:
    tag: str
    start: float  # unix seconds: when the task's body began (after Gate.start when gated)
    end: float


@dataclass(frozen=True)
class FleetSpec:
    workers: int
    max_jobs: int
    poll_delay: float  # seconds
    service: float  # seconds each task sleeps
    gated: bool
    wake: bool = True  # gated workers only: the platform's wake-on-dispatch beside arq's polling
    arq_poll: bool = False  # gated workers only: poll arq's queue as arq does, not the gate's ready jobs

    @property
    def slots(self) -> int:
        return self.workers * self.max_jobs

    def describe(self) -> str:
        return (
            f"{self.workers} worker processes × max_jobs {self.max_jobs} = {self.slots} slots, "
            f"service {self.service * 1000:g} ms"
        )


# --- servers and workers ---


@contextlib.contextmanager
def valkey() -> Iterator[tuple[str, Path]]:
    """An embedded Valkey without persistence: its URL and a scratch directory for logs."""
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        server = EmbeddedValkey(Path(tmp) / "valkey")
        try:
            url = server.start(persist=False)
            (Path(tmp) / "logs").mkdir()
            yield url, Path(tmp) / "logs"
        finally:
            server.stop()


async def connect(url: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(url))


@contextlib.asynccontextmanager
async def connected_valkey() -> AsyncIterator[tuple[ArqRedis, str, Path]]:
    """`valkey()` with a client connected to it: the client, the URL and the logs directory."""
    with valkey() as (url, logs):
        redis = await connect(url)
        try:
            yield redis, url, logs
        finally:
            await redis.aclose()


def add_poll_delays(parser: argparse.ArgumentParser, default: list[float]) -> None:
    """--poll-delays: the worker poll delays a gate benchmark runs at, each on a fresh fleet."""
    parser.add_argument(
        "--poll-delays",
        type=comma_list(float),
        default=default,
        help=f"comma-separated worker poll delays in seconds (default {','.join(f'{d:g}' for d in default)})",
    )


def _spawn(spec: FleetSpec, url: str, logs: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    argv = [sys.executable, "-m", "bench._gate", "--redis", url, "--max-jobs", str(spec.max_jobs)]
    argv += ["--poll-delay", str(spec.poll_delay), "--service", str(spec.service)]
    argv += ["--gated"] if spec.gated else []
    argv += [] if spec.wake else ["--no-wake"]
    argv += ["--arq-poll"] if spec.arq_poll else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for _ in range(spec.workers):
            path = logs / f"worker-{next(_LOG_NUMBERS)}.log"
            with path.open("wb") as log:
                process = subprocess.Popen(
                    argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
                )
            started.append((process, path))
    except BaseException:
        stop_processes([process for process, _ in started])
        raise
    return started


@contextlib.asynccontextmanager
async def fleet(redis: ArqRedis, url: str, spec: FleetSpec, logs: Path, timeout: float = 30.0) -> AsyncIterator[None]:
    """`spec.workers` worker processes, ready to poll. Leaving stops them and empties Redis, errors included."""
    await redis.delete(READY)
    started = _spawn(spec, url, logs)
    try:
        deadline = time.monotonic() + timeout
        while await reply(redis.scard(READY)) < spec.workers:
            failed = [path for process, path in started if process.poll() is not None]
            if failed or time.monotonic() > deadline:
                tail = (failed or [started[0][1]])[0].read_text(errors="replace")[-1500:]
                raise RuntimeError(f"benchmark workers did not start; a log ends:\n{tail}")
            await asyncio.sleep(0.02)
        yield
    finally:
        stop_processes([process for process, _ in started])
        await redis.flushall()


# --- jobs ---


def new_job_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex


def payload(tag: str, **kwargs: Any) -> bytes:
    """arq's serialised `bench_task(tag, **kwargs)`, as the platform builds a scan's payload for the gate."""
    return serialize_job(TASK, (tag,), kwargs, None, int(time.time() * 1000))


async def read_runs(redis: ArqRedis) -> dict[str, Run]:
    runs = {}
    for job_id, value in (await reply(redis.hgetall(RUNS))).items():
        tag, start, end = value.decode().split()
        runs[job_id.decode()] = Run(tag, float(start), float(end))
    return runs


async def in_parallel(count: int, clients: int, call: Callable[[int], Awaitable[T]]) -> list[T]:
    """`call(i)` for i in 0..count-1 by `clients` concurrent callers, each taking the next index."""
    results: list[Any] = [None] * count
    indexes = iter(range(count))

    async def client() -> None:
        for index in indexes:
            results[index] = await call(index)

    await asyncio.gather(*(client() for _ in range(max(1, min(clients, count)))))
    return results


async def wait_until(done: Callable[[], Awaitable[bool]], timeout: float, every: float = 0.01) -> bool:
    """Poll `done()` every `every` seconds until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if await done():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)


# --- the benchmark worker: `python -m bench._gate --redis URL ...` (started by `fleet`) ---


async def bench_task(ctx: dict[str, Any], tag: str, hold: float | None = None) -> None:
    async def body() -> str:
        if hold is not None:
            await ctx["redis"].sadd(HOLDING, ctx["job_id"])
            await asyncio.sleep(hold)
            return "held"
        start = time.time()
        await asyncio.sleep(ctx["service"])
        await ctx["redis"].hset(RUNS, ctx["job_id"], f"{tag} {start:.6f} {time.time():.6f}")
        return "done"

    gate: Gate | None = ctx["gate"]
    if gate is None:
        await body()
        return
    holder = uuid.uuid4().hex  # the gate steps of one delivery (scanfleet.lifecycle.Delivery)
    await gate.start(ctx["job_id"], LEASE_SECONDS, holder)
    started = time.perf_counter()
    await body()
    await gate.finish(ctx["job_id"], time.perf_counter() - started, holder)


def run_worker(args: argparse.Namespace) -> None:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["service"] = args.service
        ctx["gate"] = Gate(ctx["redis"]) if args.gated else None
        if args.gated and not args.no_wake:
            ctx["wake"] = asyncio.create_task(worker.wake_on_dispatch(ctx["redis"], ctx["gate"].keys))
        await ctx["redis"].sadd(READY, os.getpid())

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "wake" in ctx:
            ctx["wake"].cancel()

    worker = FleetWorker(
        line=GateKeys() if args.gated and not args.arq_poll else None,
        functions=[func(bench_task, name=TASK)],
        redis_settings=RedisSettings.from_dsn(args.redis),
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=args.max_jobs,
        poll_delay=args.poll_delay,
        max_tries=3,
        keep_result=60,
        allow_abort_jobs=True,
        handle_signals=True,
    )
    worker.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one benchmark worker (started by the gate benchmarks)")
    parser.add_argument("--redis", required=True)
    parser.add_argument("--max-jobs", type=int, default=20)
    parser.add_argument("--poll-delay", type=float, default=0.005)
    parser.add_argument("--service", type=float, default=0.02, help="seconds each task sleeps")
    parser.add_argument("--gated", action="store_true", help="gate steps around the task, as the platform")
    parser.add_argument("--no-wake", action="store_true", help="gated, but without the platform's wake-ups")
    parser.add_argument("--arq-poll", action="store_true", help="gated, polling arq's queue as arq does")
    run_worker(parser.parse_args())
