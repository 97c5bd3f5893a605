"""The autoscaling supervisor as a real process, and a flood of scans through the capacity gate for it to absorb
(shared by the autoscaling end-to-end test and its benchmark)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from scanfleet.broker import jobs, keys
from scanfleet.broker.gate import Gate
from scanfleet.db import orgs, scans
from scanfleet.embedded import die_with_parent, free_port
from tests.support.site import eventually


def fleet_env(database_url: str, redis_url: str, settings: Mapping[str, object]) -> dict[str, str]:
    """This environment with the servers, loopback targets allowed, and `settings` as SCANFLEET_* variables."""
    return (
        os.environ
        | {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            "SCANFLEET_WORKER_METRICS_PORT": "0",  # fixed worker ports could collide with other runs
        }
        | {f"SCANFLEET_{name.upper()}": str(value) for name, value in settings.items()}
    )


class Supervisor:
    """`scanfleet worker --autoscale <bounds>` as a process (it dies with this one), logging to `log`."""

    def __init__(self, env: Mapping[str, str], bounds: str, log: Path) -> None:
        self.log = log
        port = free_port()
        self.metrics_url = f"http://127.0.0.1:{port}/metrics"
        argv = [sys.executable, "-m", "scanfleet", "worker", "--autoscale", bounds, "--metrics-port", str(port)]
        with log.open("ab") as sink:
            self.process = subprocess.Popen(argv, env=dict(env), stdout=sink, stderr=sink, preexec_fn=die_with_parent)
        self._client = httpx.AsyncClient(trust_env=False)

    async def replicas(self) -> int | None:
        """Its scanfleet_autoscale_replicas; None until its /metrics answers."""
        try:
            text = (await self._client.get(self.metrics_url)).text
        except httpx.TransportError:
            return None
        for family in text_string_to_metric_families(text):
            if family.name == "scanfleet_autoscale_replicas":
                return int(family.samples[0].value)
        return None

    async def at(self, count: int) -> bool:
        return await self.replicas() == count

    def workers(self) -> list[int]:
        """Process ids of the workers it runs now."""
        pid = self.process.pid
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    async def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM, then its exit status once it has drained every worker."""
        self.process.send_signal(signal.SIGTERM)

        async def exited() -> bool:
            return self.process.poll() is not None

        await eventually(exited, timeout=timeout, interval=0.1)
        return self.process.returncode

    async def close(self) -> None:
        """Kill it if it still runs (its workers get SIGTERM from their parent's death)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        await self._client.aclose()


async def flood_org(pool: asyncpg.Pool, jobs_count: int) -> orgs.Org:
    """An organisation whose limits let a whole flood into arq's queue at once, so the queue (not the gate) holds it."""
    org = await orgs.create(pool, f"flood-{uuid.uuid4().hex[:8]}", "enterprise")
    updated = await orgs.set_capacity(pool, org.id, "enterprise", jobs_count, jobs_count)
    assert updated is not None
    return updated


async def flood(pool: asyncpg.Pool, gate: Gate, org: orgs.Org, url: str, count: int) -> list[uuid.UUID]:
    """`count` scans of `url`, each recorded and admitted as the API would; returns their ids."""
    ids = []
    for _ in range(count):
        scan = await scans.insert(pool, org.id, url)
        admission = await gate.admit(org.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id), org.limits)
        assert admission.outcome == "dispatched", admission
        ids.append(scan.id)
    return ids


async def unfinished(pool: asyncpg.Pool, ids: list[uuid.UUID]) -> int:
    """How many of these scans are not final yet."""
    statuses = await scans.statuses(pool, ids)
    return sum(1 for scan_id in ids if not statuses[scan_id].final)
