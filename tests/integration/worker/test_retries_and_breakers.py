"""Transient target failures are retried with backoff; permanent ones fail at once; a dead host's circuit
opens for the whole fleet and defers its jobs (no try used) until it half-opens."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from scanfleet.broker import jobs, keys
from scanfleet.broker.gate import Gate
from scanfleet.db import scans
from scanfleet.model import Job
from scanfleet.scheduler import reaper
from tests.conftest import Tenant, make_tenant
from tests.integration.worker.conftest import OwnWorker, OwnWorkerFactory
from tests.support.site import FixtureSite, Page, eventually, html

FAST_RETRIES = {"retry_max_privacy": 2, "retry_base_seconds": 0.05, "retry_cap_seconds": 0.2}
UNAVAILABLE = Page(503, [("Content-Type", "text/plain")], b"down for maintenance")
PAGE = html("<html><head><title>up</title></head><body>hello</body></html>")


async def submit(pool: asyncpg.Pool, own: OwnWorker, tenant: Tenant, url: str) -> uuid.UUID:
    scan = await scans.insert(pool, tenant.org.id, url)
    await own.gate.admit(tenant.org.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id), tenant.org.limits)
    return scan.id


async def finished(pool: asyncpg.Pool, gate: Gate, scan_id: uuid.UUID, timeout: float = 15.0) -> Job:
    """Plays the scheduler's part (bringing deferred jobs back) until the scan is final."""

    async def final() -> Job | None:
        await reaper.bring_back_deferred(gate)
        scan = await scans.get(pool, (await owner(pool, scan_id)), scan_id)
        return scan if scan is not None and scan.status.final else None

    return await eventually(final, timeout=timeout)


async def owner(pool: asyncpg.Pool, scan_id: uuid.UUID) -> uuid.UUID:
    org_id: uuid.UUID = await pool.fetchval("SELECT org_id FROM scans WHERE id = $1", scan_id)
    return org_id


GONE = Page(404, [("Content-Type", "text/plain")], b"no such page")
BAD_LOCATION = Page(302, [("Location", "http://[::1")])
FAT_HEADERS = Page(200, [("Content-Type", "text/html"), ("X-Padding", "a" * 200_000)], b"<html></html>")


@pytest.mark.parametrize(
    ("pages", "status", "error_code", "attempts", "retries"),
    [
        pytest.param([UNAVAILABLE, UNAVAILABLE, PAGE], "succeeded", None, 3, 2, id="transient-then-up"),
        pytest.param([UNAVAILABLE], "failed", "http_error", 3, 2, id="retries-spent"),
        pytest.param([GONE], "failed", "http_error", 1, 0, id="permanent-not-retried"),
        pytest.param([BAD_LOCATION], "failed", "invalid_url", 1, 0, id="invalid-location-not-retried"),
        pytest.param([FAT_HEADERS], "failed", "headers_too_large", 1, 0, id="oversized-headers-not-retried"),
    ],
)
async def test_transient_failures_are_retried_up_to_the_limit_and_permanent_ones_are_not(
    pool: asyncpg.Pool,
    own_worker: OwnWorkerFactory,
    site: FixtureSite,
    pages: list[Page],
    status: str,
    error_code: str | None,
    attempts: int,
    retries: int,
) -> None:
    path = f"/target-{uuid.uuid4().hex[:6]}"
    url = site.add(path, pages)
    async with own_worker(**FAST_RETRIES) as own:
        scan = await finished(pool, own.gate, await submit(pool, own, await make_tenant(pool), url))

    assert (scan.status.value, scan.error_code) == (status, error_code)
    assert (scan.attempts, scan.retries) == (attempts, retries)
    assert site.hits[path] == attempts  # every try reached the target once, no more
    if retries:
        assert scan.last_error_code == "http_error" and "503" in (scan.last_error_message or "")


@dataclass
class DeadHost:
    site: FixtureSite
    path: str
    url: str


@pytest.fixture
def dead_host() -> Iterator[DeadHost]:
    """A host of its own (circuits are per host name) whose page answers 503 until the test says otherwise."""
    with FixtureSite(host="127.0.0.2") as dead:
        path = f"/dead-{uuid.uuid4().hex[:6]}"
        yield DeadHost(dead, path, dead.add(path, UNAVAILABLE))


async def test_an_open_circuit_defers_its_hosts_jobs_without_using_tries_and_a_trial_closes_it(
    pool: asyncpg.Pool, own_worker: OwnWorkerFactory, site: FixtureSite, dead_host: DeadHost
) -> None:
    tenant = await make_tenant(pool)
    dead, path, dead_url = dead_host.site, dead_host.path, dead_host.url
    # A trial's claim lasts a scan's time limit plus 5 s: 15 s here, far from what a woken job takes.
    circuit = {"retry_max_privacy": 0, "breaker_fail_max": 2, "breaker_reset_seconds": 1.0, "scan_timeout_seconds": 10}
    async with own_worker(**circuit) as own:
        for _ in range(2):  # two failures in a row open the host's circuit
            failed = await finished(pool, own.gate, await submit(pool, own, tenant, dead_url))
            assert failed.error_code == "http_error"
        hits_when_opened = dead.hits[path]

        deferred, *behind = [await submit(pool, own, tenant, dead_url) for _ in range(3)]
        for scan_id in (deferred, *behind):
            await eventually(functools.partial(_state, own.gate, scan_id, "deferred"))
        # Another host is not held up by this one's circuit.
        healthy = await finished(pool, own.gate, await submit(pool, own, tenant, site.add("/fine", PAGE)))
        assert healthy.status.value == "succeeded"
        waiting = await scans.get(pool, tenant.org.id, deferred)
        assert waiting is not None and waiting.status.value == "queued" and waiting.attempts == 0
        assert dead.hits[path] == hits_when_opened  # the open circuit spared the dead host

        # The host recovers, slowly: the trial after the reset time is still under way when the others look.
        dead.pages[path] = Page(PAGE.status, PAGE.headers, PAGE.body, delay=1.0)
        recovering = time.monotonic()
        recovered = [await finished(pool, own.gate, scan_id) for scan_id in (deferred, *behind)]
        recovered_in = time.monotonic() - recovering

    assert [(scan.status.value, scan.attempts, scan.retries) for scan in recovered] == [("succeeded", 1, 0)] * 3
    # The jobs that found the trial under way were woken when it closed the circuit, not left to wait out
    # the trial's claim.
    assert recovered_in < 8, recovered_in


async def _state(gate: Gate, scan_id: uuid.UUID, expected: str) -> bool:
    return (await gate.states([keys.job_id(scan_id)]))[0] == expected


async def test_a_job_still_facing_an_open_circuit_after_the_give_up_time_fails_without_a_fetch(
    pool: asyncpg.Pool, own_worker: OwnWorkerFactory, dead_host: DeadHost
) -> None:
    tenant = await make_tenant(pool)
    dead, path, url = dead_host.site, dead_host.path, dead_host.url
    async with own_worker(retry_max_privacy=0, breaker_fail_max=1, breaker_give_up_seconds=0) as own:
        opened = await finished(pool, own.gate, await submit(pool, own, tenant, url))
        given_up = await finished(pool, own.gate, await submit(pool, own, tenant, url))

    assert opened.error_code == "http_error"
    assert given_up.status.value == "failed" and given_up.error_code == "target_unavailable"
    assert "127.0.0.2" in (given_up.error_message or "")
    assert dead.hits[path] == 1  # only the scan that opened the circuit reached the host
