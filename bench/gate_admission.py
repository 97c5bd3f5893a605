"""Admission throughput and latency: `Gate.admit` against plain arq `ArqRedis.enqueue_job`, same run.

    python -m bench.gate_admission [--admissions 10000] [--clients 10] [--rounds 5]

Starts an embedded Valkey (no workers: nothing runs, only admission is timed). In each variant the two
systems alternate in rounds (gate first in even rounds, arq first in odd ones, so drift hits both), each
round making --admissions/--rounds calls from --clients concurrent asyncio callers (one org each) over
one shared connection pool; Redis is emptied between rounds and an untimed round warms up first.

  gate  `Gate.admit(org, job_id, serialize_job(...), limits)`: one EVALSHA, the payload built in the
        timed call (enqueue_job serialises inside its own call too).
        dispatched: limits so high every admission goes straight into arq's queue (the common case).
        waiting: max_running 1 with that slot taken, so every admission joins the org's waiting list.
  arq   `ArqRedis.enqueue_job(...)` of the same task into arq's queue: WATCH, EXISTS, MULTI/EXEC.

Reading it: adm/s = calls / wall time of the timed rounds; p50/p99 are per-call latencies as the caller
sees them (including waiting for the connection pool and the event loop shared by the callers).
"gate/arq" is the gate's throughput as a multiple of arq's in the same variant.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from arq.connections import ArqRedis

from bench._gate import TASK, connected_valkey, in_parallel, new_job_id, payload
from bench._report import arguments, percentile, table
from bench._servers import cancel_on_sigterm
from scanfleet.broker.gate import Gate
from scanfleet.tiers import limits_for

UNLIMITED = 10**9
VARIANTS = {
    "dispatched": limits_for("enterprise", max_running=UNLIMITED, max_queued=UNLIMITED),
    "waiting": limits_for("enterprise", max_running=1, max_queued=UNLIMITED),
}


async def one_round(redis: ArqRedis, system: str, variant: str, count: int, clients: int) -> tuple[float, list[float]]:
    """Wall seconds and per-call latencies of `count` admissions; unexpected outcomes raise."""
    gate, limits = Gate(redis), VARIANTS[variant]
    orgs = [uuid.uuid4() for _ in range(clients)]
    if system == "gate" and variant == "waiting":
        for org in orgs:  # take each org's one running slot, untimed
            await gate.admit(org, new_job_id(), payload("x"), limits)
    latencies: list[float] = []

    async def call(index: int) -> None:
        job_id = new_job_id()
        began = time.perf_counter()
        if system == "gate":
            admission = await gate.admit(orgs[index % clients], job_id, payload("x"), limits)
            if admission.outcome != variant:
                raise RuntimeError(f"expected {variant}, got {admission}")
        elif await redis.enqueue_job(TASK, "x", _job_id=job_id) is None:
            raise RuntimeError(f"arq refused job {job_id}")
        latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await in_parallel(count, clients, call)
    wall = time.perf_counter() - began
    await redis.flushall()
    return wall, latencies


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    per_round = args.admissions // args.rounds
    rows, ratios = [], []
    async with connected_valkey() as (redis, _, _):
        for variant in VARIANTS:
            walls = {"gate": 0.0, "arq": 0.0}
            latencies: dict[str, list[float]] = {"gate": [], "arq": []}
            for system in walls:  # warm-up: scripts loaded, connections open
                await one_round(redis, system, variant, min(per_round, 1000), args.clients)
            for number in range(args.rounds):
                for system in ("gate", "arq") if number % 2 == 0 else ("arq", "gate"):
                    wall, values = await one_round(redis, system, variant, per_round, args.clients)
                    walls[system] += wall
                    latencies[system] += values
            rates = {system: len(latencies[system]) / walls[system] for system in walls}
            for system, values in latencies.items():
                p50, p99 = (percentile(values, p) * 1000 for p in (50, 99))
                label = "gate (admit)" if system == "gate" else "arq (enqueue_job)"
                rows.append([variant, label, len(values), f"{rates[system]:,.0f}", f"{p50:.2f}", f"{p99:.2f}"])
            ratios.append(f"{variant}: {rates['gate'] / rates['arq']:.2f}")
    print(f"{args.clients} concurrent callers, {args.rounds} alternating rounds of {per_round:,} calls per system\n")
    print(table(["variant", "system", "calls", "adm/s", "p50 ms", "p99 ms"], rows))
    print(f"\ngate/arq admissions per second: {', '.join(ratios)}")


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--admissions", type=int, default=10_000, help="timed calls per system and variant")
    parser.add_argument("--clients", type=int, default=10, help="concurrent callers (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
