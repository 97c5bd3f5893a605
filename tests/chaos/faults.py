"""The faults, in order, and the probe that times each one's recovery.

Recovery = from the fault's end until a probe scan, submitted right after it, is final.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from redis.asyncio import Redis

from tests.chaos.config import ChaosConfig
from tests.chaos.fleet import Fleet, Process
from tests.chaos.load import Ledger, Tenant, submit
from tests.chaos.servers import ChaosServers
from tests.chaos.targets import TargetUrls

FINAL = ("succeeded", "failed", "cancelled")
POLL = 0.05
MARKER = "chaos:marker"


def wall_clock(monotonic: float) -> str:
    """A monotonic instant as UTC time of day, to find it in the processes' logs."""
    return datetime.fromtimestamp(time.time() - (time.monotonic() - monotonic), UTC).strftime("%H:%M:%S.%f")[:-3]


@dataclass
class FaultResult:
    name: str
    started: float
    ended: float
    in_hand: set[str] = field(default_factory=set)  # job ids the stopped workers were running
    notes: list[str] = field(default_factory=list)
    recovered_in: float | None = None  # None: the probe did not finish within the deadline
    probe: str = ""  # the probe's final status, or why it has none


class Faults:
    def __init__(self, servers: ChaosServers, fleet: Fleet, config: ChaosConfig) -> None:
        self.servers = servers
        self.fleet = fleet
        self.config = config

    def plan(self) -> list[tuple[str, Callable[[], Awaitable[FaultResult]]]]:
        """(name, fault) in the order they run."""
        steps: list[tuple[str, Callable[[], Awaitable[FaultResult]]]] = [
            (f"worker SIGKILL #{n + 1}", self.kill_worker) for n in range(self.config.kills)
        ]
        steps += [
            ("Valkey restart, data kept", lambda: self.restart_valkey(keep_data=True)),
            ("Valkey restart, data lost", lambda: self.restart_valkey(keep_data=False)),
            (f"PostgreSQL down {self.config.postgres_down_seconds:g} s", self.postgres_outage),
        ]
        steps += [(f"roll all workers #{n + 1}", self.roll_workers) for n in range(self.config.rolls)]
        return steps

    async def kill_worker(self) -> FaultResult:
        victim, in_hand = await self._busiest_worker(deadline=10)
        started = time.monotonic()
        victim.signal(signal.SIGKILL)
        await victim.wait(10)
        self.fleet.retire(victim)
        replacement = await self.fleet.add_worker()
        result = FaultResult("", started, time.monotonic(), in_hand)
        result.notes.append(f"killed {victim.name} with {len(in_hand)} jobs in hand; started {replacement.name}")
        return result

    async def _busiest_worker(self, deadline: float) -> tuple[Process, set[str]]:
        """The worker with the most jobs in hand, once one has any (mid-job is the point of the kill)."""
        until = time.monotonic() + deadline
        while True:
            hands = [(worker, worker.jobs_in_hand()) for worker in self.fleet.workers if worker.alive]
            busiest = max(hands, key=lambda pair: len(pair[1]), default=None)
            if busiest is not None and (busiest[1] or time.monotonic() > until):
                return busiest
            if time.monotonic() > until + deadline:
                raise RuntimeError("no worker alive to kill")
            await asyncio.sleep(POLL)

    async def restart_valkey(self, keep_data: bool) -> FaultResult:
        # A key of the harness's own tells whether the restart really kept (or lost) the data.
        await self._on_valkey(lambda redis: redis.set(MARKER, "1"))
        started = time.monotonic()
        await self.servers.restart_valkey(self.config.valkey_down_seconds, keep_data)
        result = FaultResult("", started, time.monotonic())
        if bool(await self._on_valkey(lambda redis: redis.exists(MARKER))) != keep_data:
            raise RuntimeError(f"the harness's Valkey restart {'lost' if keep_data else 'kept'} the data")
        return result

    async def _on_valkey(self, command: Callable[[Redis], Awaitable[object]]) -> object:
        redis = Redis.from_url(self.servers.redis_url)  # a fresh connection: the old ones died with the server
        try:
            return await command(redis)
        finally:
            await redis.aclose()

    async def postgres_outage(self) -> FaultResult:
        started = time.monotonic()
        await self.servers.stop_postgres(self.config.postgres_down_seconds)
        return FaultResult("", started, time.monotonic())

    async def roll_workers(self) -> FaultResult:
        """A deploy: every worker gets SIGTERM and a successor; the fault lasts until the old ones are gone."""
        old = list(self.fleet.workers)
        in_hand = set().union(*(worker.jobs_in_hand() for worker in old))
        started = time.monotonic()
        for worker in old:
            worker.signal(signal.SIGTERM)
        for _ in old:
            await self.fleet.add_worker()
        result = FaultResult("", started, 0.0, in_hand)
        grace = float(self.config.platform.get("SCANFLEET_WORKER_GRACE_SECONDS", "25"))
        for worker in old:
            if not await worker.wait(grace + 10):
                result.notes.append(f"{worker.name} still running {grace + 10:g} s after SIGTERM: killed")
                worker.signal(signal.SIGKILL)
                await worker.wait(10)
            self.fleet.retire(worker)
        result.ended = time.monotonic()
        result.notes.append(f"{len(old)} workers rolled with {len(in_hand)} jobs in hand")
        return result


async def probe(client: httpx.AsyncClient, ledger: Ledger, tenant: Tenant, urls: TargetUrls,
                since: float, deadline: float) -> tuple[float | None, str]:  # fmt: skip
    """Submit a scan of the fast target until one is accepted, then follow it until it is final.
    Returns (seconds from `since` until it was final, or None past the deadline; what the probe saw)."""
    until = since + deadline
    refused: list[str] = []
    while True:
        record = await submit(client, ledger, tenant, "fast", urls.fast, "probe")
        if record.accepted:
            break
        refused.append(record.refusal)
        if time.monotonic() > until:
            return None, f"never accepted ({len(refused)} refusals, last: {record.refusal})"
        await asyncio.sleep(POLL)
    seen = f"accepted at {record.sent_at - since:.2f} s" + (
        f" after {len(refused)} refusals ({refused[-1]})" if refused else ""
    )
    status = "queued"
    while time.monotonic() <= until:
        try:
            response = await client.get(f"/v1/scans/{record.scan_id}", headers=tenant.headers)
            status = response.json().get("status", status) if response.status_code == 200 else status
        except (httpx.HTTPError, ValueError):
            pass  # the API may still be reconnecting: ask again
        if status in FINAL:
            return time.monotonic() - since, f"{status}, {seen}"
        await asyncio.sleep(POLL)
    return None, f"still {status} after {deadline:g} s, {seen}"
