"""Delivery rounds against receivers on 127.0.0.1: signed, retried, broken off, guarded, and once each."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from arq.connections import ArqRedis
from prometheus_client import REGISTRY

from scanfleet.backoff import Backoff
from scanfleet.breakers import SharedBreakers
from scanfleet.config import Settings
from scanfleet.db import webhooks
from scanfleet.scheduler import webhooks as webhook_round
from scanfleet.scheduler.webhooks import Deliverer
from scanfleet.webhooks import signing
from tests.conftest import Tenant
from tests.integration.webhooks.conftest import Receiver, complete, endpoint, events_of


async def test_a_completed_scan_and_run_are_each_delivered_once_signed(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer]
) -> None:
    hook = receiver()
    registered, secret = await endpoint(pool, tenant.org.id, hook.url)
    scan = await complete(pool, tenant.org.id)
    run = await complete(pool, tenant.org.id, "checks")

    delivering = deliverer()
    assert (await delivering.round())["delivered"] >= 2
    assert (await delivering.round())["delivered"] == 0  # delivered events are not sent again

    assert len(hook.requests) == 2
    for request in hook.requests:
        # What a customer's receiver does with the README snippet: the raw body against the header.
        assert signing.verify(secret, request.headers[signing.SIGNATURE_HEADER], request.body)
        assert not signing.verify("whsec_other", request.headers[signing.SIGNATURE_HEADER], request.body)
        assert request.headers["Content-Type"] == "application/json"
    events = [json.loads(request.body) for request in hook.requests]
    assert {(event["type"], event["data"]["id"]) for event in events} == {
        ("scan.completed", str(scan.id)), ("run.completed", str(run.id)),
    }  # fmt: skip
    assert [request.headers[signing.EVENT_ID_HEADER] for request in hook.requests] == [e["id"] for e in events]
    by_type = {event["type"]: event["data"] for event in events}
    assert by_type["scan.completed"]["status"] == "succeeded" and by_type["scan.completed"]["http_status"] == 200
    assert by_type["run.completed"]["verdict"] == "passed"
    assert [row["state"] for row in await events_of(pool, registered.id)] == ["delivered", "delivered"]


async def test_a_failing_receiver_is_retried_and_every_attempt_logged(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer]
) -> None:
    hook = receiver(500, 500)
    registered, secret = await endpoint(pool, tenant.org.id, hook.url)
    await complete(pool, tenant.org.id)
    delivering = deliverer()

    for _ in range(4):  # rounds see every due event in the database: judge this one by its own rows
        await delivering.round()
    assert len(hook.requests) == 3  # 500, 500, then 200

    [event] = await events_of(pool, registered.id)
    assert (event["state"], event["attempts"]) == ("delivered", 3)
    log = await webhooks.deliveries(pool, tenant.org.id, registered.id, None, 10)
    assert [(d.attempt, d.status_code, d.event_state) for d in log] == [
        (3, 200, "delivered"), (2, 500, "delivered"), (1, 500, "delivered"),
    ]  # fmt: skip
    # Each attempt is signed anew, and each signature holds.
    assert all(signing.verify(secret, r.headers[signing.SIGNATURE_HEADER], r.body) for r in hook.requests)


async def test_attempts_run_out_and_the_event_fails(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer]
) -> None:
    registered, _ = await endpoint(pool, tenant.org.id, receiver(503, 503, 503).url)
    await complete(pool, tenant.org.id)
    delivering = deliverer(backoff=Backoff(base_seconds=0, cap_seconds=0, max_attempts=2))

    assert (await delivering.round())["retrying"] == 1
    assert (await delivering.round())["failed"] == 1
    [event] = await events_of(pool, registered.id)
    assert (event["state"], event["attempts"]) == ("failed", 2)


async def test_a_dead_receiver_opens_the_circuit_and_every_scheduler_defers_later_events_not_fails_them(
    pool: asyncpg.Pool,
    tenant: Tenant,
    dead_url: str,
    deliverer: Callable[..., Deliverer],
    circuits: Callable[..., SharedBreakers],
) -> None:
    registered, _ = await endpoint(pool, tenant.org.id, dead_url)
    for _ in range(4):
        await complete(pool, tenant.org.id)
    one, other = (deliverer(breakers=circuits(fail_max=2, reset_seconds=60)) for _ in range(2))

    first = await one.round()
    assert (first["retrying"], first["deferred"]) == (2, 2)  # two attempts open the circuit
    # The two that failed are due again at once (no backoff): another scheduler defers them unattempted.
    second = await other.round()
    assert second["deferred"] == 2 and second["retrying"] == 0

    events = await events_of(pool, registered.id)
    assert [row["attempts"] for row in events] == [1, 1, 0, 0]
    assert {row["state"] for row in events} == {"pending"}
    half_open = datetime.now(UTC) + timedelta(seconds=50)
    assert all(row["next_attempt_at"] > half_open for row in events)  # held until the circuit's trial
    log = await webhooks.deliveries(pool, tenant.org.id, registered.id, None, 10)
    assert [(d.status_code, d.error_code) for d in log] == [(None, "connect_error")] * 2


async def test_an_endpoint_the_ssrf_guard_refuses_fails_with_blocked_address_at_once(
    pool: asyncpg.Pool, tenant: Tenant, deliverer: Callable[..., Deliverer]
) -> None:
    registered, _ = await endpoint(pool, tenant.org.id, "http://169.254.169.254/latest/meta-data/")
    await complete(pool, tenant.org.id)
    delivering = deliverer()  # attempts to spare: a refused address is still not tried again

    assert (await delivering.round())["failed"] == 1
    assert (await delivering.round())["failed"] == 0
    [attempt] = await webhooks.deliveries(pool, tenant.org.id, registered.id, None, 10)
    assert (attempt.status_code, attempt.error_code, attempt.event_state) == (None, "blocked_address", "failed")
    assert "169.254.169.254" in (attempt.error_message or "")


async def test_endpoint_rows_whose_url_cannot_be_used_fail_at_once_beside_healthy_ones(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer]
) -> None:
    hook = receiver()
    healthy, _ = await endpoint(pool, tenant.org.id, hook.url)
    # Written straight to the database, past the API's URL rules (an older version's rows, a hand-made fix).
    poisoned = [
        (await endpoint(pool, tenant.org.id, url))[0]
        for url in ("http://127.0.0.1:99999/hooks", "http://127.0.0.1:0/hooks", "http://[::1/hooks", "gopher://x/")
    ]
    await complete(pool, tenant.org.id)
    await complete(pool, tenant.org.id, "checks")

    counts = await deliverer().round()  # five attempts allowed: a failure that might pass would stay pending
    assert counts["failed"] >= 2 * len(poisoned)
    assert [row["state"] for row in await events_of(pool, healthy.id)] == ["delivered", "delivered"]
    assert len(hook.requests) == 2
    for bad in poisoned:
        assert [(row["state"], row["attempts"]) for row in await events_of(pool, bad.id)] == [("failed", 1)] * 2
        log = await webhooks.deliveries(pool, tenant.org.id, bad.id, None, 10)
        assert {(d.error_code, d.status_code) for d in log} == {("invalid_url", None)}
        assert all("cannot be used" in (d.error_message or "") for d in log)


async def test_an_endpoint_whose_delivery_breaks_off_costs_the_others_nothing(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    hook, broken = receiver(), receiver()
    healthy, _ = await endpoint(pool, tenant.org.id, hook.url)
    await endpoint(pool, tenant.org.id, broken.url)
    await complete(pool, tenant.org.id)
    delivering = deliverer()
    post = delivering._post

    async def flawed(event: webhooks.Due) -> webhooks.Attempt:
        if event.url == broken.url:
            raise RuntimeError("a bug met on one endpoint's row")
        return await post(event)

    monkeypatch.setattr(delivering, "_post", flawed)
    assert (await delivering.round())["delivered"] >= 1
    assert [row["state"] for row in await events_of(pool, healthy.id)] == ["delivered"]
    assert len(hook.requests) == 1 and not broken.requests


async def test_two_concurrent_rounds_deliver_each_event_once(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer]
) -> None:
    hooks = [receiver(), receiver()]
    for hook in hooks:
        await endpoint(pool, tenant.org.id, hook.url)
    for _ in range(5):
        await complete(pool, tenant.org.id)

    rounds = await asyncio.gather(deliverer(batch=4).round(), deliverer(batch=4).round())
    while any(await asyncio.gather(deliverer().round(), deliverer().round())):
        pass  # the rest, still two at a time, until nothing is due

    assert rounds[0]["delivered"] and rounds[1]["delivered"]  # both took a share
    ids = [request.headers[signing.EVENT_ID_HEADER] for hook in hooks for request in hook.requests]
    assert len(ids) == 10 and len(set(ids)) == 10


async def test_a_round_out_of_time_hands_the_rest_back_unattempted(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer]
) -> None:
    hook = receiver()
    registered, _ = await endpoint(pool, tenant.org.id, hook.url)
    for _ in range(3):
        await complete(pool, tenant.org.id)
    delivering = deliverer(budget_seconds=0)  # one attempt per endpoint per round, then the budget is spent

    counts = [await delivering.round() for _ in range(3)]
    assert [(c["delivered"], c["released"]) for c in counts] == [(1, 2), (1, 1), (1, 0)]
    assert [row["attempts"] for row in await events_of(pool, registered.id)] == [1, 1, 1]
    assert len(hook.requests) == 3


async def test_the_schedulers_round_built_from_settings_delivers_and_counts(
    pool: asyncpg.Pool, tenant: Tenant, receiver: Callable[..., Receiver], settings: Settings, queue: ArqRedis
) -> None:
    hook = receiver()
    await endpoint(pool, tenant.org.id, hook.url)
    await complete(pool, tenant.org.id)

    def delivered() -> float:
        return REGISTRY.get_sample_value("scanfleet_webhook_deliveries_total", {"outcome": "delivered"}) or 0.0

    before = delivered()
    scheduler_deliverer = webhook_round.deliverer_for(settings, pool, queue)
    try:
        assert (await webhook_round.deliver(scheduler_deliverer))["delivered"] >= 1
    finally:
        await scheduler_deliverer.aclose()
    assert len(hook.requests) == 1 and delivered() - before >= 1
