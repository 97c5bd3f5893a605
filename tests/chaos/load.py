"""Organisations submitting a steady stream of scans through the HTTP API, every answer recorded.

A 202 is a promise the checks hold the platform to; a 429 or 503 (or any other refusal) is an honest
"not accepted". An answer that never came is recorded too: the scan may or may not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import httpx

from scanfleet.db import api_keys, orgs
from tests.chaos.config import ChaosConfig, OrgPlan
from tests.chaos.targets import TargetUrls


@dataclass(frozen=True)
class Tenant:
    org_id: uuid.UUID
    tier: str
    headers: dict[str, str]


async def create_tenant(pool: asyncpg.Pool, tier: str, label: str) -> Tenant:
    org = await orgs.create(pool, f"chaos-{label}-{uuid.uuid4().hex[:6]}", tier)
    _, key = await api_keys.create(pool, org.id, "chaos")
    return Tenant(org.id, tier, {"Authorization": f"Bearer {key}"})


@dataclass
class Submission:
    origin: str  # "stream" or "probe"
    org_id: uuid.UUID
    tier: str
    target: str  # fast, slow, flaky, timeout
    url: str
    sent_at: float
    status: int | None = None  # None: no answer (the request failed or timed out)
    error: str | None = None  # the error code of a refusal, or the exception's name
    scan_id: uuid.UUID | None = None
    cancel_status: int | None = None  # the answer to our DELETE, for the scans we cancelled

    @property
    def accepted(self) -> bool:
        return self.status == 202 and self.scan_id is not None

    @property
    def refusal(self) -> str:
        return f"{self.status} {self.error}" if self.status is not None else f"no answer ({self.error})"


@dataclass
class Ledger:
    """Every submission the run made, in order."""

    submissions: list[Submission] = field(default_factory=list)
    _numbers: Counter[str] = field(default_factory=Counter)

    def unique_url(self, base: str) -> str:
        # A fresh query per submission: the API would otherwise reuse an in-flight scan of the same URL.
        self._numbers[base] += 1
        return f"{base}?n={self._numbers[base]}"

    @property
    def accepted(self) -> list[Submission]:
        return [s for s in self.submissions if s.accepted]


async def submit(client: httpx.AsyncClient, ledger: Ledger, tenant: Tenant, target: str, base: str,
                 origin: str) -> Submission:  # fmt: skip
    url = ledger.unique_url(base)
    record = Submission(origin, tenant.org_id, tenant.tier, target, url, time.monotonic())
    ledger.submissions.append(record)
    try:
        response = await client.post("/v1/scans", json={"url": url}, headers=tenant.headers)
    except httpx.HTTPError as exc:
        record.error = type(exc).__name__
        return record
    record.status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 202:
        record.scan_id = uuid.UUID(body["id"])
    else:
        error = body.get("error") if isinstance(body, dict) else None
        record.error = error.get("code") if isinstance(error, dict) else response.text[:80]
    return record


class Stream:
    """Each organisation submits at its own pace to a random target from the mix, until stopped.
    Stopping lets the requests in flight finish, so every submission has its answer."""

    def __init__(self, client: httpx.AsyncClient, ledger: Ledger, urls: TargetUrls, config: ChaosConfig) -> None:
        self.client = client
        self.ledger = ledger
        self.urls = urls
        self.config = config
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, tenants: list[tuple[Tenant, OrgPlan]]) -> None:
        self._tasks = [
            asyncio.create_task(self._submit_until_stopped(tenant, plan, random.Random(self.config.seed + n)))
            for n, (tenant, plan) in enumerate(tenants)
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _pause(self, seconds: float) -> None:
        """The pace of the load (not a wait for a condition); cut short when the stream stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _submit_until_stopped(self, tenant: Tenant, plan: OrgPlan, rng: random.Random) -> None:
        """One organisation's submissions; its own random source, so its targets do not depend on the others'."""
        kinds, weights = zip(*self.config.target_mix.items(), strict=True)
        cancels: list[asyncio.Task[None]] = []
        accepted = 0
        while not self._stop.is_set():
            target = rng.choices(kinds, weights)[0]
            record = await submit(self.client, self.ledger, tenant, target, self.urls.of(target), "stream")
            if record.accepted:
                accepted += 1
                if accepted % self.config.cancel_one_in == 0:
                    cancels.append(asyncio.create_task(self._cancel(tenant, record, rng.uniform(0, 1))))
            await self._pause(rng.expovariate(plan.per_second))
        await asyncio.gather(*cancels)

    async def _cancel(self, tenant: Tenant, record: Submission, after: float) -> None:
        await self._pause(after)  # a cancel some time into the scan's life: queued, running or done
        try:
            response = await self.client.delete(f"/v1/scans/{record.scan_id}", headers=tenant.headers)
        except httpx.HTTPError:
            return
        record.cancel_status = response.status_code
