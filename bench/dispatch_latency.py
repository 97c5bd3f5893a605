"""Dispatch latency on a busy fleet: submission → start while long jobs hold slots running across the fleet.

    python -m bench.dispatch_latency [--running 200] [--jobs 300] [--interval-ms 20] [--workers 4] [--max-jobs 60]

Starts an embedded Valkey and, per system, `--workers` worker processes (bench._gate, `--max-jobs` slots
each, the platform's poll delay of 0.05 s). First `--running` long jobs are submitted and the benchmark
waits until every one of them has started (each holds its slot for the rest of the run); then `--jobs`
short jobs (2 ms) are submitted one at a time, `--interval-ms` apart on average (uniformly 0.5-1.5×, so
arrivals fall at random points of the workers' polls):

  scanfleet            the platform's worker: the gate's admit (the long jobs from running/20 enterprise
                       orgs, the timed ones from one more whose limits never hold a job back), workers
                       taking the gate's ready jobs, woken by its wake-up tokens, each task between
                       `Gate.start` and `Gate.finish`.
  scanfleet, arq poll  the same, but polling arq's queue as arq does (how the platform's worker polled before
                       it took the gate's ready jobs): arq's queue holds the running jobs too, and each poll
                       checks every running job ahead of a new one (WATCH, EXISTS, ZSCORE each).
  arq                  plain `ArqRedis.enqueue_job` and arq's own poll: the baseline doing the same work.

Latency = unix time just before the submit call (in this process) → unix time when the task's body began (in
the worker; after `Gate.start` when gated), one host clock. Goal (issue #15): p99 ≤ 25 ms with 200 running.
Fails (exit status 1) if a long job stopped holding its slot or a timed job did not run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis

from bench._gate import (
    HOLDING,
    RUNS,
    TASK,
    FleetSpec,
    connected_valkey,
    fleet,
    new_job_id,
    payload,
    read_runs,
    wait_until,
)
from bench._report import arguments, percentile, table
from bench._servers import cancel_on_sigterm
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.tiers import Limits, limits_for

POLL_DELAY = 0.05  # the platform's default (SCANFLEET_WORKER_POLL_DELAY_SECONDS)
SERVICE = 0.002  # the timed jobs' own time
HOLD_SECONDS = 3600.0  # the long jobs outlast any run
SYSTEMS = [("scanfleet", True, False), ("scanfleet, arq poll", True, True), ("arq", False, False)]
ENTERPRISE = limits_for("enterprise")  # 20 running slots per org, for the long jobs
UNLIMITED = limits_for("enterprise", max_running=100_000, max_queued=100_000)  # timed jobs never wait in line


async def _count(redis: ArqRedis, key: str, kind: str, count: int) -> bool:
    size = await reply(redis.scard(key) if kind == "set" else redis.hlen(key))
    return int(size) >= count


async def measure(redis: ArqRedis, url: str, logs: Path, args: argparse.Namespace, spec: FleetSpec) -> list[float]:
    """Latencies (seconds) of `args.jobs` spaced submissions while `args.running` long jobs run."""
    gate = Gate(redis)

    async def submit(org: uuid.UUID, job_id: str, limits: Limits = UNLIMITED, **kwargs: Any) -> str:
        if spec.gated:
            outcome = (await gate.admit(org, job_id, payload("x", **kwargs), limits)).outcome
            if outcome != "dispatched":
                raise RuntimeError(f"the gate did not dispatch a job at once ({outcome})")
        else:
            await redis.enqueue_job(TASK, "x", _job_id=job_id, **kwargs)
        return job_id

    async with fleet(redis, url, spec, logs):
        holders = [uuid.uuid4() for _ in range(-(-args.running // ENTERPRISE.max_running))]
        for index in range(args.running):
            await submit(holders[index // ENTERPRISE.max_running], new_job_id("hold-"), ENTERPRISE, hold=HOLD_SECONDS)
        if not await wait_until(functools.partial(_count, redis, HOLDING, "set", args.running), 60):
            raise RuntimeError(
                f"only {await reply(redis.scard(HOLDING))} of {args.running} long jobs started within 60 s"
            )
        timed, submitted = uuid.uuid4(), dict[str, float]()
        for warm_up in (True, False):
            submitted.clear()
            await redis.delete(RUNS)
            count = 10 if warm_up else args.jobs
            for _ in range(count):
                await asyncio.sleep(random.uniform(0.5, 1.5) * args.interval_ms / 1000)
                job_id = new_job_id()
                submitted[job_id] = time.time()
                await submit(timed, job_id)
            if not await wait_until(functools.partial(_count, redis, RUNS, "hash", count), 120):
                raise RuntimeError(f"only {await reply(redis.hlen(RUNS))} of {count} timed jobs ran within 120 s")
        runs = await read_runs(redis)
        still = await reply(redis.scard(HOLDING))
        if still != args.running or set(runs) != set(submitted):
            raise RuntimeError(f"the run is not what it reports: {still} long jobs, {len(runs)} timed jobs ran")
        return [runs[job_id].start - at for job_id, at in submitted.items()]


async def main(args: argparse.Namespace) -> int:
    cancel_on_sigterm()
    rows = []
    async with connected_valkey() as (redis, url, logs):
        for system, gated, arq_poll in SYSTEMS:
            spec = FleetSpec(args.workers, args.max_jobs, POLL_DELAY, SERVICE, gated, arq_poll=arq_poll)
            try:
                latencies = [x * 1000 for x in await measure(redis, url, logs, args, spec)]
            except RuntimeError as exc:
                print(f"{system}: {exc}", file=sys.stderr)
                return 1
            p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
            goal = "yes" if p99 <= 25 else "no"
            figures = [f"{x:.2f}" for x in (p50, p95, p99, max(latencies))]
            rows.append([system, len(latencies), *figures, goal])
            print(f"  done: {system}", flush=True)
    print(
        f"\n{spec.describe()}, poll delay {POLL_DELAY:g} s; {args.running} long jobs running throughout; "
        f"{args.jobs} timed jobs, one every {args.interval_ms:g} ms on average; latency = submit call → task start\n"
    )
    print(table(["system", "jobs", "p50 ms", "p95 ms", "p99 ms", "max ms", "p99≤25"], rows))
    return 0


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--running", type=int, default=200, help="long jobs running throughout (default 200)")
    parser.add_argument("--jobs", type=int, default=300, help="timed jobs per system (default 300)")
    parser.add_argument("--interval-ms", type=float, default=20, help="mean spacing of submissions (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--max-jobs", type=int, default=60, help="each worker's max_jobs (default 60)")
    args = parser.parse_args()
    if args.workers * args.max_jobs <= args.running:
        parser.error("--workers × --max-jobs must leave slots free beside --running")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
