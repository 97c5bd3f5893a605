"""Fleet throughput while one target in ten is dead, with per-host circuit breakers on and off.

    python -m bench.breakers_dead_target [--quick] [--rounds 2] [--scans 300] [--workers 2] [--max-jobs 5]
                                         [--page-delay 0.2] [--dead-timeout 2] [--variants timeout,refused]
                                         [--reset 30] [--drain 0]

--quick: one round per side, 200 scans, the timeout variant only (about a minute).

Starts an embedded PostgreSQL and Valkey in a temporary directory and ten targets on their own loopback
addresses (circuits are per host name): nine healthy sites on 127.0.0.10-18, each answering one shop page
after --page-delay seconds (a real site's latency, so a scan holds a worker slot for a while), and one dead
target on 127.0.0.19, in one of two variants:

  timeout  accepts the connection, reads the request and never answers: every fetch waits out the read
           timeout (--dead-timeout) holding a slot. This is the case circuit breakers are for.
  refused  nothing listens: every fetch fails at once with connect_error.

A round runs --workers real worker processes (`python -m scanfleet.worker`, built by worker.app.build_worker, each
with --max-jobs slots) and, in this process, the scheduler's part for deferred jobs and expired leases
(scheduler.reaper.bring_back_deferred and reap, every --scheduler-interval seconds, as `python -m scanfleet.scheduler`
does). After a few untimed warm-up scans, --scans scans are recorded in PostgreSQL and admitted through the
capacity gate at once (target i % 10, spread over enterprise organisations whose running limits together
exceed the fleet's slots, so the fleet is the bottleneck). Both sides have the same settings but for
breaker_fail_max: "on" keeps the platform's default circuit (5 failures in a row open it for --reset
seconds, breaker_reset_seconds' default 30 s), "off" sets it to a million. Both retry a transient failure once
(retry_max_privacy 1, retry_base_seconds 0.5). Rounds alternate on/off (on-off, then off-on, ...) with a
fresh fleet and an emptied Redis each time, so machine noise falls on both sides alike.

Columns (means over a side's rounds; times from the first admission, finish times from PostgreSQL):
  healthy/s     healthy scans / "healthy s"; "healthy s" until the last healthy scan was final
  settled s     until the fleet had nothing left to do: every scan final, or deferred behind its target's
                open circuit (off: every scan final)
  all final s   until every scan was final; "-" when dead-target scans were still deferred at the round's end
                (it settled, or --drain seconds later: parked scans end one half-open trial at a time)
  dead final    dead-target scans final (failed) at the round's end, of all dead-target scans
  dead tries    deliveries that fetched the dead target (claims not handed back: PostgreSQL's attempts)
  dead fetch s  seconds the fleet's connections to the dead target were held open (timeout variant only)
  slot %        dead fetch s as a share of the fleet's slot-seconds until the round's end
The last lines give on/off of healthy/s per variant, and per round pair. A round also checks that no scan
was lost (every scan not final is still held by the gate) and that no running slot is held once it settled.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import asyncpg
from arq.connections import ArqRedis

from bench._gate import in_parallel, wait_until
from bench._report import arguments, comma_list, table
from bench._servers import cancel_on_sigterm, postgres_and_valkey
from bench.e2e_scans import shop_page, wait_started, worker_processes
from scanfleet.breakers import SharedBreakers
from scanfleet.broker import connection, jobs, keys
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import WORKERS as WORKERS_KEY
from scanfleet.config import Settings
from scanfleet.db import orgs, scans
from scanfleet.db.pool import create_pool
from scanfleet.scheduler import reaper
from scanfleet.tiers import DEFAULTS
from tests.support.fleet import fleet_env
from tests.support.site import FixtureSite, html

HEALTHY_HOSTS = [f"127.0.0.{n}" for n in range(10, 19)]
DEAD_HOST = "127.0.0.19"
BREAKERS_OFF = 1_000_000  # failures in a row before a circuit opens: never, in a round
ENTERPRISE = DEFAULTS["enterprise"]
ORG_SCANS = 100  # scans per organisation in a round: well within the tier's running + queued jobs
POLL_SECONDS = 0.1


class DeadTarget:
    """Accepts connections and never answers; counts them and the seconds they were held open."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._held = 0.0
        self._numbers = itertools.count()
        self._open: dict[int, float] = {}  # connection number -> when it was accepted
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._hold, self.host, 0, backlog=512)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}/"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = next(self._numbers)
        self._open[number] = time.monotonic()
        try:
            while await reader.read(65536):  # the request, then nothing until the client gives up
                pass
        except ConnectionError:
            pass
        finally:
            self._held += time.monotonic() - self._open.pop(number)
            writer.close()

    def held_seconds(self) -> float:
        now = time.monotonic()
        return self._held + sum(now - since for since in self._open.values())

    def reset(self) -> None:
        self._held = 0.0

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


def refused_url(host: str) -> str:
    """A port nothing listens on at `host`: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    return f"http://{host}:{port}/"


@dataclass(frozen=True)
class Round:
    variant: str
    breakers: bool
    healthy: int
    healthy_failed: int
    healthy_s: float
    settled_s: float
    ended_s: float  # settled, or later with --drain
    all_final_s: float | None
    dead: int
    dead_final: int
    dead_tries: int
    dead_fetch_s: float | None
    slots: int

    @property
    def rate(self) -> float:
        return self.healthy / self.healthy_s


@dataclass
class Bench:
    args: argparse.Namespace
    settings: Settings
    pool: asyncpg.Pool
    redis: ArqRedis
    gate: Gate
    healthy_urls: list[str]
    hole: DeadTarget
    dead_urls: dict[str, str]  # by variant
    logs: Path
    rounds: list[Round] = field(default_factory=list)

    @property
    def slots(self) -> int:
        slots: int = self.args.workers * self.args.max_jobs
        return slots

    def worker_env(self, breakers: bool) -> dict[str, str]:
        dead_timeout = self.args.dead_timeout
        return {
            **fleet_env(
                self.settings.database_url or "",
                self.settings.redis_url or "",
                {
                    "worker_max_jobs": self.args.max_jobs,
                    "fetch_connect_timeout_seconds": dead_timeout,
                    "fetch_read_timeout_seconds": dead_timeout,
                    "scan_timeout_seconds": dead_timeout + 1,
                    "retry_max_privacy": 1,
                    "retry_base_seconds": 0.5,
                    "breaker_fail_max": self.settings.breaker_fail_max if breakers else BREAKERS_OFF,
                    "breaker_reset_seconds": self.args.reset,
                },
            ),
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }

    @asynccontextmanager
    async def fleet(self, breakers: bool, number: int) -> AsyncIterator[None]:
        """The worker processes and the scheduler's rounds; leaving stops both and empties Redis."""
        logs = self.logs / f"round-{number}"
        logs.mkdir()
        stop = asyncio.Event()
        scheduler = asyncio.create_task(self._scheduler(stop))
        try:
            argv = [sys.executable, "-m", "scanfleet.worker"]
            with worker_processes("scanfleet", argv, self.args.workers, self.worker_env(breakers), logs) as workers:
                await wait_started(workers.logs)
                expected: int = self.args.workers

                async def registered() -> bool:
                    count: int = await self.redis.zcard(WORKERS_KEY)
                    return count >= expected

                if not await wait_until(registered, 30, every=0.05):
                    raise RuntimeError(f"the workers did not register; see {logs}")
                yield
        finally:
            stop.set()
            await scheduler
            await self.redis.flushall()

    async def _scheduler(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await reaper.reap(self.gate)
            await reaper.bring_back_deferred(self.gate)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.args.scheduler_interval)

    async def submit(self, urls: Sequence[str]) -> tuple[list[uuid.UUID], list[orgs.Org], float]:
        """Scans of `urls` recorded, then admitted in order; (ids, their orgs, when admission began)."""
        count = max(1, math.ceil(len(urls) / ORG_SCANS), math.ceil(2 * self.slots / ENTERPRISE.max_running))
        tenants = [await orgs.create(self.pool, f"bench-{uuid.uuid4().hex[:8]}", ENTERPRISE.tier) for _ in range(count)]
        recorded = await in_parallel(len(urls), 8, lambda i: scans.insert(self.pool, tenants[i % count].id, urls[i]))
        started = time.time()
        for index, scan in enumerate(recorded):
            tenant = tenants[index % count]
            admission = await self.gate.admit(
                tenant.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id), tenant.limits
            )
            if admission.outcome == "rejected":
                raise RuntimeError(f"the gate refused a scan: {admission}")
        return [scan.id for scan in recorded], tenants, started

    async def warm_up(self) -> None:
        """Untimed: imports, pools and connections to every healthy site warmed in each worker."""
        urls = [self.healthy_urls[i % len(self.healthy_urls)] for i in range(2 * self.slots)]
        ids, _, _ = await self.submit(urls)

        async def done() -> bool:
            return all(status.final for status in (await scans.statuses(self.pool, ids)).values())

        if not await wait_until(done, 60, every=POLL_SECONDS):
            raise RuntimeError("the warm-up scans did not finish within 60 s")

    async def measure(self, variant: str, breakers: bool) -> Round:
        count = self.args.scans
        dead_url = self.dead_urls[variant]
        urls = [dead_url if i % 10 == 9 else self.healthy_urls[i % 10] for i in range(count)]
        self.hole.reset()
        ids, tenants, started = await self.submit(urls)
        healthy = {scan_id for scan_id, url in zip(ids, urls, strict=True) if url != dead_url}
        circuit = SharedBreakers(self.redis, "target", 1, 1.0)  # only read: its thresholds are unused

        async def settled() -> bool:
            # The gate first: a worker records the outcome in PostgreSQL before it frees the job in the gate,
            # so a job the gate no longer holds must be final in PostgreSQL read afterwards.
            states = dict(zip(ids, await self.gate.states([keys.job_id(scan_id) for scan_id in ids]), strict=True))
            current = await scans.statuses(self.pool, ids)
            pending = [scan_id for scan_id in ids if not current[scan_id].final]
            lost = [str(scan_id) for scan_id in pending if states[scan_id] is None]
            if lost:
                raise RuntimeError(f"{len(lost)} scans are neither final nor held by the gate: {lost[:5]}")
            if any(scan_id in healthy for scan_id in pending):
                return False
            parked = all(states[scan_id] == "deferred" for scan_id in pending)
            return parked and (not pending or await circuit.state(DEAD_HOST) != "closed")

        if not await wait_until(settled, self.args.round_timeout, every=POLL_SECONDS):
            raise RuntimeError(f"round not settled within {self.args.round_timeout:g}s (see {self.logs})")
        settled_s = time.time() - started
        held = sum([(await self.gate.usage(org.id)).running for org in tenants])
        if held:
            raise RuntimeError(f"{held} running slots still held once the round settled")
        if self.args.drain:
            # Scans parked behind the open circuit end one half-open trial at a time.
            async def all_final() -> bool:
                return all(status.final for status in (await scans.statuses(self.pool, ids)).values())

            await wait_until(all_final, self.args.drain, every=POLL_SECONDS)
        ended_s = time.time() - started
        dead_fetch_s = self.hole.held_seconds() if variant == "timeout" else None
        rows = await self.pool.fetch(
            "SELECT id, status, finished_at, attempts FROM scans WHERE id = ANY($1::uuid[])", ids
        )
        final = [row for row in rows if row["finished_at"] is not None]
        healthy_rows = [row for row in rows if row["id"] in healthy]
        dead_rows = [row for row in rows if row["id"] not in healthy]

        def since_start(row: asyncpg.Record) -> float:
            finished_at: datetime = row["finished_at"]
            return finished_at.timestamp() - started

        return Round(
            variant=variant, breakers=breakers, healthy=len(healthy_rows),
            healthy_failed=sum(row["status"] != "succeeded" for row in healthy_rows),
            healthy_s=max(map(since_start, healthy_rows)), settled_s=settled_s, ended_s=ended_s,
            all_final_s=max(map(since_start, final)) if len(final) == len(rows) else None,
            dead=len(dead_rows), dead_final=sum(row["finished_at"] is not None for row in dead_rows),
            dead_tries=sum(row["attempts"] for row in dead_rows), dead_fetch_s=dead_fetch_s,
            slots=self.slots,
        )  # fmt: skip

    async def run(self) -> None:
        number = 0
        for variant in self.args.variants:
            for index in range(self.args.rounds):
                # on-off, off-on, ...: a drift in the machine's load favours neither side
                for breakers in (True, False) if index % 2 == 0 else (False, True):
                    number += 1
                    async with self.fleet(breakers, number):
                        await self.warm_up()
                        result = await self.measure(variant, breakers)
                    self.rounds.append(result)
                    print(
                        f"  round {number}: {variant:<8} breakers {'on ' if breakers else 'off'}"
                        f"  healthy {result.rate:6.1f}/s  settled {result.settled_s:5.1f} s"
                        f"  dead final {result.dead_final}/{result.dead}",
                        flush=True,
                    )


def _mean(values: Sequence[float | None], digits: int = 1) -> str:
    if not values or any(value is None for value in values):
        return "-"
    return f"{statistics.fmean(v for v in values if v is not None):.{digits}f}"


def report(rounds: list[Round], variants: Sequence[str]) -> None:
    header = [
        "variant", "breakers", "rounds", "healthy/s", "healthy s", "settled s", "all final s", "dead final",
        "dead tries", "dead fetch s", "slot %", "healthy failed",
    ]  # fmt: skip
    rows = []
    for variant in variants:
        for breakers in (True, False):
            side = [r for r in rounds if r.variant == variant and r.breakers == breakers]
            if not side:
                continue
            fetch = [r.dead_fetch_s for r in side]
            share = [None if r.dead_fetch_s is None else 100 * r.dead_fetch_s / (r.slots * r.ended_s) for r in side]
            rows.append([
                variant, "on" if breakers else "off", len(side), _mean([r.rate for r in side]),
                _mean([r.healthy_s for r in side]), _mean([r.settled_s for r in side]),
                _mean([r.all_final_s for r in side]),
                f"{sum(r.dead_final for r in side)}/{sum(r.dead for r in side)}",
                _mean([r.dead_tries for r in side]), _mean(fetch), _mean(share, 0),
                sum(r.healthy_failed for r in side),
            ])  # fmt: skip
    print(table(header, rows))
    for variant in variants:
        on = [r.rate for r in rounds if r.variant == variant and r.breakers]
        off = [r.rate for r in rounds if r.variant == variant and not r.breakers]
        if on and off:
            pairs = ", ".join(f"{a / b:.2f}" for a, b in zip(on, off, strict=True))
            print(f"{variant}: breakers on/off, healthy scans/s: {statistics.fmean(on) / statistics.fmean(off):.2f}"
                  f" (round pairs: {pairs})")  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    base = Settings(db_pool_max_size=10, worker_metrics_port=0)
    async with AsyncExitStack() as cleanup:  # unwinds in reverse: dead target, sites, servers
        settings, logs = await cleanup.enter_async_context(postgres_and_valkey("bench-breakers-", base, persist=False))
        page = replace(html(shop_page(args.products)), delay=args.page_delay)
        healthy_urls = [cleanup.enter_context(FixtureSite(host=host)).add("/shop", page) for host in HEALTHY_HOSTS]
        hole = DeadTarget(DEAD_HOST)
        dead_urls = {"timeout": await hole.start(), "refused": refused_url(DEAD_HOST)}
        cleanup.push_async_callback(hole.stop)
        print(
            f"{len(HEALTHY_HOSTS)} healthy targets (page {len(page.body):,} B after {args.page_delay:g} s) and one"
            f" dead target; {args.scans} scans a round, one in ten dead; {args.workers} workers x max_jobs"
            f" {args.max_jobs} = {args.workers * args.max_jobs} slots;"
            f" connect/read timeout {args.dead_timeout:g} s;"
            f" retry_max_privacy 1 (base 0.5 s); breakers on = fail_max {base.breaker_fail_max},"
            f" reset {args.reset:g} s; off = fail_max {BREAKERS_OFF:,}\n",
            flush=True,
        )
        pool = await create_pool(settings)
        redis = await connection.connect(settings)
        bench = Bench(args, settings, pool, redis, Gate(redis), healthy_urls, hole, dead_urls, logs)
        try:
            await bench.run()
        finally:
            await redis.aclose()
            await pool.close()
        print()
        report(bench.rounds, args.variants)


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--quick", action="store_true", help="one round per side, 200 scans, timeout variant")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per side and variant (default 2)")
    parser.add_argument("--scans", type=int, default=300, help="scans per round, one in ten dead (default 300)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--max-jobs", type=int, default=5, help="concurrent jobs per worker (default 5)")
    parser.add_argument("--page-delay", type=float, default=0.2, help="seconds a healthy site takes to answer")
    parser.add_argument("--products", type=int, default=24, help="products on the healthy page (its size)")
    parser.add_argument("--dead-timeout", type=float, default=2.0, help="fetch connect and read timeouts, seconds")
    parser.add_argument(
        "--variants",
        type=comma_list(str),
        default=["timeout", "refused"],
        help="dead-target variants, comma-separated: timeout, refused (default both)",
    )
    parser.add_argument(
        "--reset", type=float, default=Settings().breaker_reset_seconds, help="breaker_reset_seconds (default 30)"
    )
    parser.add_argument(
        "--drain", type=float, default=0, help="seconds to wait past settling for every scan to be final (default 0)"
    )
    parser.add_argument("--scheduler-interval", type=float, default=Settings().reaper_interval_seconds)
    parser.add_argument("--round-timeout", type=float, default=120, help="seconds a round may take to settle")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.scans, args.variants = 1, 200, ["timeout"]
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
