"""Dispatch latency on an idle worker: submit call → task start, through the gate and through plain arq.

    python -m bench.gate_dispatch_latency [--jobs 500] [--interval-ms 12] [--poll-delays 0.005,0.01,0.05]

Starts an embedded Valkey and, for each poll delay, one idle arq worker process per system (max_jobs 20,
a 2 ms task), then submits jobs one at a time, --interval-ms apart on average (uniformly 0.5-1.5×, so
arrivals fall at random points of the worker's poll cycle), so every job finds the worker idle:

  gate          `Gate.admit` (an enterprise org: 20 running slots, so every job is 'dispatched' into
                arq's queue in the same step, "held" counts any that were not: a dispatched job holds
                a slot until it ends); the worker is built like the platform's: the task under
                the gate's start and finish, and `wake_on_dispatch` polling as soon as the gate announces a dispatch.
  gate no wake  the same without `wake_on_dispatch`: arq's polling alone.
  arq           plain `ArqRedis.enqueue_job`; the worker runs the same body without the gate, polling.

Latency = unix time just before the submit call (in this process) → unix time when the task's body
began (in the worker; after `Gate.start` when gated), one host clock. An untimed warm-up of 10 jobs runs
first. Reading it: a polling worker looks at its queue once per poll_delay, so a job arriving at a random
moment waits half a poll on average (p50 ≈ poll_delay / 2 + a few Redis round trips) and up to a whole
one (p99 ≈ poll_delay + overhead); with wake-ups the poll delay should stop mattering. The gate's own
cost is the gap between "gate no wake" and "arq" at the same poll delay. Goal: p50 ≤ 5 ms, p99 ≤ 25 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import time
import uuid
from pathlib import Path

from arq.connections import ArqRedis

from bench._gate import (
    RUNS,
    TASK,
    FleetSpec,
    add_poll_delays,
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
from scanfleet.tiers import limits_for

SYSTEMS = [("gate", True, True), ("gate no wake", True, False), ("arq", False, False)]  # name, gated, wake-ups


async def _at_least(redis: ArqRedis, count: int) -> bool:
    return await reply(redis.hlen(RUNS)) >= count


async def measure(
    redis: ArqRedis, url: str, logs: Path, args: argparse.Namespace, spec: FleetSpec
) -> tuple[list[float], int]:
    """Latencies (seconds) of `args.jobs` spaced submissions to one idle worker, and how many the gate held."""
    gate, org, limits = Gate(redis), uuid.uuid4(), limits_for("enterprise")
    submitted: dict[str, float] = {}
    held = 0

    async def submit(job_id: str) -> None:
        nonlocal held
        submitted[job_id] = time.time()
        if spec.gated:
            admission = await gate.admit(org, job_id, payload("x"), limits)
            held += admission.outcome != "dispatched"
        else:
            await redis.enqueue_job(TASK, "x", _job_id=job_id)

    async with fleet(redis, url, spec, logs):
        for warm_up in (True, False):
            submitted.clear()
            held = 0
            count = 10 if warm_up else args.jobs
            for _ in range(count):
                await asyncio.sleep(random.uniform(0.5, 1.5) * args.interval_ms / 1000)
                await submit(new_job_id())
            if not await wait_until(functools.partial(_at_least, redis, count), 30):
                raise RuntimeError(f"only {await reply(redis.hlen(RUNS))} of {count} jobs ran within 30 s")
            runs = await read_runs(redis)
            await redis.delete(RUNS)
    return [runs[job_id].start - at for job_id, at in submitted.items()], held


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    rows = []
    async with connected_valkey() as (redis, url, logs):
        for poll_delay in args.poll_delays:
            for system, gated, wake in SYSTEMS:
                spec = FleetSpec(1, args.max_jobs, poll_delay, args.service_ms / 1000, gated, wake)
                seconds, held = await measure(redis, url, logs, args, spec)
                latencies = [x * 1000 for x in seconds]
                p50, p90, p99 = (percentile(latencies, p) for p in (50, 90, 99))
                goal = "yes" if p50 <= 5 and p99 <= 25 else "no"
                row = [f"{poll_delay:g}", system, len(latencies), held if gated else "-"]
                row += [f"{p50:.2f}", f"{p90:.2f}", f"{p99:.2f}"]
                rows.append([*row, f"{max(latencies):.2f}", goal])
                print(f"  done: poll_delay {poll_delay:g} s, {system}", flush=True)
    print(
        f"\n1 idle worker process, max_jobs {args.max_jobs}, service {args.service_ms:g} ms; {args.jobs} jobs, "
        f"one every {args.interval_ms:g} ms on average; latency = submit call → task body start\n"
    )
    header = ["poll_delay s", "system", "jobs", "held", "p50 ms", "p90 ms", "p99 ms", "max ms", "p50≤5 & p99≤25"]
    print(table(header, rows))


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--jobs", type=int, default=500, help="timed jobs per run (default 500)")
    parser.add_argument("--interval-ms", type=float, default=12, help="mean spacing of submissions (default 12)")
    add_poll_delays(parser, [0.005, 0.01, 0.05])
    parser.add_argument("--max-jobs", type=int, default=20, help="the worker's max_jobs (default 20)")
    parser.add_argument("--service-ms", type=float, default=2, help="each task's sleep (default 2)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
