"""Receivers on 127.0.0.1, deliverers whose guard allows loopback, and completions written as workers do."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis

from scanfleet.backoff import Backoff
from scanfleet.breakers import SharedBreakers
from scanfleet.config import Settings
from scanfleet.db import results, scans, webhooks
from scanfleet.http import AddressPolicy, guarded_client
from scanfleet.model import Job, Outcome, Status
from scanfleet.scheduler.webhooks import Deliverer
from tests.support.services import ApiService, Request
from tests.support.site import Page

NO_WAIT = Backoff(base_seconds=0, cap_seconds=0, max_attempts=5)  # a failed event is due again at once


class Receiver:
    """A route taking webhook POSTs: answers the scripted statuses in turn, then 200; keeps every request."""

    def __init__(self, service: ApiService, statuses: tuple[int, ...]) -> None:
        self.statuses = list(statuses)
        self.requests: list[Request] = []
        path = f"/hooks/{uuid.uuid4().hex}"
        service.routes[path] = self._answer
        self.url = service.url(path)

    def _answer(self, request: Request) -> Page:
        self.requests.append(request)
        return Page(self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture(scope="session")
def receivers() -> Iterator[ApiService]:
    with ApiService() as service:
        yield service


@pytest.fixture
def receiver(receivers: ApiService) -> Callable[..., Receiver]:
    return lambda *statuses: Receiver(receivers, statuses)


@pytest.fixture
def dead_url() -> str:
    """A loopback port nobody listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


@pytest.fixture
async def circuits(settings: Settings, queue: ArqRedis) -> AsyncIterator[Callable[..., SharedBreakers]]:
    """Endpoint circuits under a key prefix of the test's own; each made on its own connection, as a separate
    scheduler replica holds them."""
    prefix = f"t{uuid.uuid4().hex[:10]}:breaker:"
    connections: list[Redis] = []
    url = settings.redis_url
    assert url is not None

    def make(fail_max: int = 10, reset_seconds: float = 60.0) -> SharedBreakers:
        connections.append(Redis.from_url(url))
        return SharedBreakers(connections[-1], "webhook", fail_max, reset_seconds, prefix)

    yield make
    for connection in connections:
        await connection.aclose()
    keys = [key async for key in queue.scan_iter(match=f"{prefix}*")]
    if keys:
        await queue.delete(*keys)


@pytest.fixture
async def deliverer(
    settings: Settings, pool: asyncpg.Pool, circuits: Callable[..., SharedBreakers]
) -> AsyncIterator[Callable[..., Deliverer]]:
    """Makes deliverers with the test settings' guard (loopback allowed); defaults to no backoff."""
    made: list[Deliverer] = []

    def make(breakers: SharedBreakers | None = None, **options: Any) -> Deliverer:
        client = guarded_client(AddressPolicy(tuple(settings.fetch_allow_networks)), timeout=httpx.Timeout(2.0))
        defaults: dict[str, Any] = {"backoff": NO_WAIT, "timeout_seconds": 2.0}
        made.append(Deliverer(pool, client, breakers=breakers or circuits(), **(defaults | options)))
        return made[-1]

    yield make
    for each in made:
        await each.aclose()


async def endpoint(pool: asyncpg.Pool, org_id: uuid.UUID, url: str) -> tuple[webhooks.Endpoint, str]:
    created = await webhooks.create(pool, org_id, url, "", ["scan.completed", "run.completed"])
    assert created is not None
    return created


async def complete(pool: asyncpg.Pool, org_id: uuid.UUID, kind: str = "privacy") -> Job:
    """A scan (or test run) claimed and finished through the result transaction, which enqueues its events."""
    if kind == "privacy":
        queued = await scans.insert(pool, org_id, "https://example.com/")
        outcome = Outcome(Status.SUCCEEDED, final_url="https://example.com/", http_status=200)
    else:
        queued = await scans.insert_run(pool, org_id, {"name": "smoke", "steps": []})
        outcome = Outcome(Status.SUCCEEDED, verdict="passed")
    scan = await scans.claim(pool, queued.id, lease_seconds=30)
    assert scan is not None
    async with pool.acquire() as conn, conn.transaction():
        assert await results.write_outcome(conn, scan, outcome)
    return scan


async def events_of(pool: asyncpg.Pool, endpoint_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, state, attempts, next_attempt_at FROM webhook_events WHERE endpoint_id = $1 ORDER BY created_at",
        endpoint_id,
    )
