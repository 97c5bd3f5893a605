"""Queue truth and the scheduler's /metrics with a deep queue, beside the cheapest reads of the same things.

    python -m bench.metrics_scrape [--ready 10000] [--running 0,200,2000] [--orgs 500] [--calls 200]

Starts an embedded Valkey and fills arq's queue through the gate, as the API does: --ready jobs admitted
across --orgs enterprise organisations (limits high enough that each is dispatched into arq's queue at once),
due now. For each --running level, that many more jobs are admitted and then started from the head of the
queue as arq and a gated worker start them (arq's in-progress key, then `Gate.start`'s lease), so the ready
count stays --ready while the running count grows. Each figure is --calls sequential calls after a warm-up.

  ZCARD + ZCOUNT   one pipelined round trip: the cheapest depth reading (it cannot tell running jobs apart)
  queue_truth      the scheduler's one Lua step: ready, running, deferred, oldest ready age, workers
  observe round    everything the scheduler exports each reaper interval: queue truth, the gate per tier
                   (one pipeline over every organisation) and the scaling policy's decision

Then the scheduler's registry, as left by those rounds, is served by prometheus_client's own HTTP server on
a free port and scraped over HTTP, beside the same server with an empty registry. A scrape reads no Redis:
its cost does not depend on the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from bench._gate import connected_valkey, in_parallel, new_job_id, payload
from bench._report import arguments, comma_list, percentile, table
from bench._servers import cancel_on_sigterm
from scanfleet.broker.gate import Gate
from scanfleet.broker.stats import queue_truth
from scanfleet.config import Settings
from scanfleet.scheduler.observe import Observer
from scanfleet.tiers import limits_for

UNLIMITED = 10**9
LIMITS = limits_for("enterprise", max_running=UNLIMITED, max_queued=UNLIMITED)
IN_PROGRESS_MS = 600_000  # arq's in-progress key outlives the benchmark


async def timed(calls: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    """Seconds per call, `calls` in a row after a few untimed ones."""
    for _ in range(5):
        await call()
    seconds = []
    for _ in range(calls):
        began = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - began)
    return seconds


def row(label: str, seconds: list[float], *extra: object) -> list[object]:
    p50, p95 = (percentile(seconds, p) * 1000 for p in (50, 95))
    return [label, f"{p50:.3f}", f"{p95:.3f}", *extra]


async def admit(gate: Gate, orgs: list[uuid.UUID], count: int) -> None:
    async def one(index: int) -> None:
        admission = await gate.admit(orgs[index % len(orgs)], new_job_id(), payload("x"), LIMITS)
        if admission.outcome != "dispatched":
            raise RuntimeError(f"expected a dispatch, got {admission}")

    await in_parallel(count, 10, one)


async def start_head(gate: Gate, redis: ArqRedis, count: int) -> None:
    """Start the `count` oldest not-started jobs, as workers taking the head of the queue would."""
    started = 0
    for job_id in await redis.zrange(gate.keys.queue, 0, -1):
        if started == count:
            return
        job = job_id.decode()
        if await redis.set(in_progress_key_prefix + job, b"1", px=IN_PROGRESS_MS, nx=True):
            await gate.start(job, lease_seconds=IN_PROGRESS_MS / 1000)
            started += 1


async def scrape(registry: CollectorRegistry, calls: int) -> tuple[list[float], int]:
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        async with httpx.AsyncClient() as client:
            size = len((await client.get(url)).content)
            return await timed(calls, lambda: client.get(url)), size
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    levels = sorted(args.running)
    queue_rows, scrape_rows = [], []
    async with connected_valkey() as (redis, url, _):
        gate = Gate(redis)
        observer = Observer(gate, Settings(_env_file=None, redis_url=url))
        orgs = [uuid.uuid4() for _ in range(args.orgs)]
        await admit(gate, orgs, args.ready)
        running = 0
        for level in levels:
            await admit(gate, orgs, level - running)
            await start_head(gate, redis, level - running)
            running = level
            truth = await queue_truth(gate)
            if (truth.ready, truth.running) != (args.ready, level):
                raise RuntimeError(f"expected {args.ready} ready and {level} running, read {truth}")

            async def depth() -> None:
                async with redis.pipeline(transaction=False) as pipe:
                    pipe.zcard(gate.keys.queue)
                    pipe.zcount(gate.keys.queue, "-inf", int(time.time() * 1000))
                    await pipe.execute()

            shape = f"{truth.ready:,} ready, {truth.running:,} running"
            queue_rows.append(row("ZCARD + ZCOUNT (baseline)", await timed(args.calls, depth), shape))
            queue_rows.append(row("queue_truth", await timed(args.calls, lambda: queue_truth(gate)), shape))
            queue_rows.append(row("observe round", await timed(args.calls, observer.round), shape))

        empty, size = await scrape(CollectorRegistry(), args.calls)
        scrape_rows.append(row("empty registry (baseline)", empty, f"{size:,}"))
        scheduler, size = await scrape(REGISTRY, args.calls)
        scrape_rows.append(row("scheduler registry", scheduler, f"{size:,}"))

    print(f"{args.orgs} organisations, {args.calls} sequential calls per figure\n")
    print(table(["read", "p50 ms", "p95 ms", "queue"], queue_rows))
    print(f"\n/metrics over HTTP (prometheus_client's server), {args.ready:,} jobs ready\n")
    print(table(["scrape", "p50 ms", "p95 ms", "bytes"], scrape_rows))


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--ready", type=int, default=10_000, help="jobs ready in arq's queue (default 10,000)")
    parser.add_argument(
        "--running",
        type=comma_list(int),
        default=[0, 200, 2000],
        help="running levels, comma-separated (default 0,200,2000)",
    )
    parser.add_argument("--orgs", type=int, default=500, help="organisations the jobs belong to (default 500)")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per figure (default 200)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
