"""Fairness under saturation: Jain's index of throughput among orgs of one tier sharing a too-small fleet.

    python -m bench.gate_fairness [--orgs 10] [--tier pro] [--workers 2] [--max-jobs 10] [--service-ms 50]
                                  [--warmup 2] [--window 10] [--poll-delays 0.005,0.05] [--heavy-factor 10]

Starts an embedded Valkey and, per poll delay and case, a fresh fleet of --workers arq worker processes
(max_jobs each, built like the platform's: a task sleeping --service-ms between the gate's start and finish, and
wake-on-dispatch). The fleet is smaller than the orgs' running limits summed, so jobs always wait.
Every --refill-ms this process tops each org's waiting list in the gate back up with `Gate.admit`, so no
org ever runs dry:

  equal  every org keeps its tier's max_queued (pro: 50) waiting, far more than its max_running (pro: 5).
  heavy  org 0 keeps --heavy-factor times as many waiting (its max_queued raised to allow it; same tier,
         same max_running); the others as in "equal".

After --warmup seconds, the jobs each org completes during --window seconds are counted (by the time
each task ended). J = (Σx)²/(n·Σx²) over those counts: 1.0 is perfectly even, 1/n is one org taking all;
the goal is J ≥ 0.95. "util" = completed jobs/s ÷ (slots / service time), how busy the fleet was. Waits
are submit call → task start for jobs that started in the window; a light org's wait is mostly its own
line (max_queued jobs ahead of it), so compare it across the two cases: the heavy org's line should not
lengthen it. The heavy org's own wait is longer than the run and is not shown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from pathlib import Path

from arq.connections import ArqRedis

from bench._gate import FleetSpec, add_poll_delays, connected_valkey, fleet, new_job_id, payload, read_runs
from bench._report import arguments, jain, percentile, table
from bench._servers import cancel_on_sigterm
from scanfleet.broker.gate import Gate
from scanfleet.tiers import Limits, limits_for


async def keep_full(
    gate: Gate, orgs: list[uuid.UUID], limits: list[Limits], submitted: dict[str, float], every: float
) -> None:
    """Forever: top each org's waiting list up to its max_queued (one admission per missing job)."""
    while True:
        for index, (org, org_limits) in enumerate(zip(orgs, limits, strict=True)):
            usage = await gate.usage(org)
            missing = org_limits.max_running + org_limits.max_queued - usage.running - usage.queued

            async def admit(tag: str = f"o{index}", org: uuid.UUID = org, org_limits: Limits = org_limits) -> None:
                job_id = new_job_id()
                submitted[job_id] = time.time()
                await gate.admit(org, job_id, payload(tag), org_limits)

            await asyncio.gather(*(admit() for _ in range(missing)))
        await asyncio.sleep(every)


async def one_run(
    redis: ArqRedis, url: str, logs: Path, args: argparse.Namespace, spec: FleetSpec, heavy: bool
) -> tuple[list[int], list[list[float]]]:
    """Jobs completed in the window per org, and each org's waits (seconds) for jobs started in it."""
    orgs = [uuid.uuid4() for _ in range(args.orgs)]
    base = limits_for(args.tier)
    limits = [base] * args.orgs
    if heavy:
        limits[0] = limits_for(args.tier, max_queued=base.max_queued * args.heavy_factor)
    submitted: dict[str, float] = {}
    async with fleet(redis, url, spec, logs):
        refill = asyncio.create_task(keep_full(Gate(redis), orgs, limits, submitted, args.refill_ms / 1000))
        try:
            window_start = time.time() + args.warmup
            window_end = window_start + args.window
            await asyncio.sleep(window_end - time.time() + 0.2)  # + the last writes of jobs ending in the window
        finally:
            refill.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refill
        runs = await read_runs(redis)
    done = {f"o{i}": 0 for i in range(args.orgs)}
    waits: dict[str, list[float]] = {tag: [] for tag in done}
    for job_id, run in runs.items():
        done[run.tag] += window_start <= run.end < window_end
        if window_start <= run.start < window_end:
            waits[run.tag].append(run.start - submitted[job_id])
    return list(done.values()), list(waits.values())


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    per_org: dict[str, list[int]] = {}
    summary = []
    async with connected_valkey() as (redis, url, logs):
        for poll_delay in args.poll_delays:
            spec = FleetSpec(args.workers, args.max_jobs, poll_delay, args.service_ms / 1000, True)
            for case in ("equal", "heavy"):
                counts, waits = await one_run(redis, url, logs, args, spec, case == "heavy")
                per_org[f"{case} {poll_delay:g}"] = counts
                rate = sum(counts) / args.window
                light = [wait for org_waits in waits[1:] for wait in org_waits]
                summary.append([
                    f"{poll_delay:g}", case, f"{rate:.0f}", f"{rate / (spec.slots / spec.service):.0%}",
                    f"{jain(counts):.4f}", f"{jain(counts[1:]):.4f}",
                    f"{statistics.median(light):.2f}", f"{percentile(light, 99):.2f}",
                ])  # fmt: skip
                print(f"  done: poll_delay {poll_delay:g} s, {case}", flush=True)
    base = limits_for(args.tier)
    print(
        f"\nfleet: {spec.describe()} (capacity {spec.slots / spec.service:.0f} jobs/s); {args.orgs} {args.tier} orgs "
        f"(max_running {base.max_running} each, {args.orgs * base.max_running} in all), each keeping "
        f"{base.max_queued} waiting (heavy case: org 0 keeps {base.max_queued * args.heavy_factor}); "
        f"{args.warmup:g} s warm-up, {args.window:g} s window\n"
    )
    print("jobs completed in the window, per org and run (poll_delay s):")
    rows = [[f"org {i}" + (" (heavy)" if i == 0 else ""), *(c[i] for c in per_org.values())] for i in range(args.orgs)]
    print(table(["org", *per_org], rows))
    print()
    header = ["poll_delay s", "case", "jobs/s", "util", "J all", "J light", "light wait p50 s", "p99 s"]
    print(table(header, summary))


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--orgs", type=int, default=10, help="orgs of the same tier (default 10)")
    parser.add_argument("--tier", default="pro", help="their tier (default pro: 5 running, 50 queued)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--max-jobs", type=int, default=10, help="max_jobs per worker (default 10)")
    parser.add_argument("--service-ms", type=float, default=50, help="each task's sleep (default 50)")
    add_poll_delays(parser, [0.005, 0.05])
    parser.add_argument("--warmup", type=float, default=2, help="seconds before the window (default 2)")
    parser.add_argument("--window", type=float, default=10, help="seconds counted (default 10)")
    parser.add_argument("--heavy-factor", type=int, default=10, help="the heavy org's line, × the others'")
    parser.add_argument("--refill-ms", type=float, default=20, help="how often lines are topped up (default 20)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
