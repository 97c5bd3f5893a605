"""Noisy neighbour: how long a small org's one job waits behind a big org's burst, with and without the gate.

    python -m bench.gate_noisy_neighbour [--a-jobs 10000] [--service-ms 20] [--workers 2] [--max-jobs 20]
                                         [--poll-delays 0.005,0.05] [--cap 60]

Starts an embedded Valkey and, for each poll delay and system, a fresh fleet of --workers arq worker
processes (max_jobs each) running a task that sleeps --service-ms. Org A (enterprise) submits --a-jobs
jobs as fast as --clients concurrent callers can, then org B (free) submits one job:

  gate     A and B through `Gate.admit`; workers built like the platform's (the task between the gate's start
           and finish, wake-on-dispatch beside arq's polling). A's max_queued is raised to --a-jobs so the gate holds
           all of A's burst (with the enterprise default of 200 it would accept 220 and refuse the rest,
           which is not this question); A still runs at most 20 at a time, so B's job is dispatched at once.
  no gate  plain arq `enqueue_job` for both, the same task body: one FIFO queue, B's job behind A's.

B's wait = unix time just before B's submit call → the start of B's task (one host clock). Each run stops
once B's job has started (workers stopped, Redis emptied). When B has not started within --cap seconds,
its wait is estimated, marked "est.": time so far + jobs still ahead of B in arq's queue / the rate jobs
finished since B's submit. "arq queue at B" = A's jobs in arq's queue (dispatched or running) when B
submitted; "held by gate" = A's jobs waiting in the gate then; "A started first" = A's jobs that started
before B's did.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path

from arq.connections import ArqRedis
from arq.constants import default_queue_name

from bench._gate import (
    RUNS,
    TASK,
    FleetSpec,
    add_poll_delays,
    connected_valkey,
    fleet,
    in_parallel,
    payload,
    read_runs,
    wait_until,
)
from bench._report import arguments, table
from bench._servers import cancel_on_sigterm
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.tiers import limits_for


async def one_run(redis: ArqRedis, url: str, logs: Path, args: argparse.Namespace, spec: FleetSpec) -> list[object]:
    gate, org_a, org_b = Gate(redis), uuid.uuid4(), uuid.uuid4()
    limits_a, limits_b = limits_for("enterprise", max_queued=args.a_jobs), limits_for("free")

    async def submit(job_id: str, org: uuid.UUID) -> str:
        if spec.gated:
            limits = limits_a if org == org_a else limits_b
            return (await gate.admit(org, job_id, payload(job_id[0]), limits)).outcome
        await redis.enqueue_job(TASK, job_id[0], _job_id=job_id)
        return "queued"

    async with fleet(redis, url, spec, logs):
        began = time.monotonic()
        outcomes = Counter(await in_parallel(args.a_jobs, args.clients, lambda i: submit(f"A{i}", org_a)))
        submit_seconds = time.monotonic() - began
        if outcomes["rejected"]:
            raise RuntimeError(f"the gate refused some of A's jobs: {dict(outcomes)}")
        in_queue = await redis.zcard(default_queue_name)
        held = (await gate.usage(org_a)).queued if spec.gated else "-"
        finished_at_submit = await reply(redis.hlen(RUNS))
        b_submitted = time.time()
        await submit("B", org_b)
        await wait_until(lambda: reply(redis.hexists(RUNS, "B")), args.cap)
        runs = await read_runs(redis)
        if "B" in runs:
            wait = f"{runs['B'].start - b_submitted:.3f}"
            a_first: int | str = sum(run.start < runs["B"].start for job_id, run in runs.items() if job_id != "B")
        else:
            elapsed = time.time() - b_submitted
            ahead = await redis.zrank(default_queue_name, "B") or 0
            rate = (len(runs) - finished_at_submit) / elapsed
            wait = f"{elapsed + ahead / rate:.1f} est." if rate else "never"
            a_first = f"≥{len(runs)}"
    system = "gate" if spec.gated else "no gate"
    return [f"{spec.poll_delay:g}", system, args.a_jobs, f"{submit_seconds:.2f}", in_queue, held, a_first, wait]


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    rows = []
    async with connected_valkey() as (redis, url, logs):
        for poll_delay in args.poll_delays:
            for gated in (True, False):
                spec = FleetSpec(args.workers, args.max_jobs, poll_delay, args.service_ms / 1000, gated)
                rows.append(await one_run(redis, url, logs, args, spec))
                print(f"  done: poll_delay {poll_delay:g} s, {rows[-1][1]}", flush=True)
    fleet_text = FleetSpec(args.workers, args.max_jobs, 0, args.service_ms / 1000, True).describe()
    print(
        f"\nfleet: {fleet_text}; A enterprise (max_running 20, max_queued raised to {args.a_jobs:,}), "
        f"B free (max_running 1); A submitted by {args.clients} concurrent callers\n"
    )
    header = ["poll_delay s", "system", "A jobs", "A submit s", "arq queue at B", "held by gate"]
    print(table([*header, "A started first", "B wait s"], rows))
    if any(str(row[-1]).endswith("est.") for row in rows):
        print(f"\nest.: B had not started after --cap {args.cap:g} s; wait = that + jobs ahead of B / finish rate")


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--a-jobs", type=int, default=10_000, help="org A's burst (default 10000)")
    parser.add_argument("--service-ms", type=float, default=20, help="each task's sleep (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--max-jobs", type=int, default=20, help="max_jobs per worker (default 20)")
    add_poll_delays(parser, [0.005, 0.05])
    parser.add_argument("--clients", type=int, default=32, help="A's concurrent submitters (default 32)")
    parser.add_argument("--cap", type=float, default=60, help="seconds to wait for B before estimating")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
