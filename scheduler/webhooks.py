"""Webhook delivery as a scheduler round: due events POSTed signed, retried with backoff, behind a circuit
breaker per endpoint shared by every scheduler. Any number of schedulers may run it at once: each claim takes
events no other holds."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
from redis.asyncio import Redis

from scanfleet import __version__, metrics, urls
from scanfleet.backoff import Backoff
from scanfleet.breakers import SharedBreakers
from scanfleet.config import Settings
from scanfleet.db import webhooks
from scanfleet.db.webhooks import Attempt, Due
from scanfleet.http import AddressPolicy, client_ssl_context, guarded_client
from scanfleet.http.failures import TARGET_ERRORS, classify
from scanfleet.retry import delivery_retried
from scanfleet.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

USER_AGENT = f"scanfleet-webhooks/{__version__}"
# Room, within a claim's lease, for the database writes after its last attempt.
_LEASE_MARGIN_SECONDS = 30.0
_OUTCOME = {"delivered": "delivered", "pending": "retrying", "failed": "failed"}


@dataclass
class Deliverer:
    """One per scheduler process: its HTTP client (a guarded one) lasts across rounds."""

    pool: asyncpg.Pool
    client: httpx.AsyncClient
    breakers: SharedBreakers  # one circuit per endpoint, named by its id
    backoff: Backoff
    timeout_seconds: float = 10.0
    batch: int = 50
    # No attempt starts once a round has run this long: a slow receiver holds the round up by one
    # timeout more at most, and every claimed event is settled well within its lease.
    budget_seconds: float = 10.0

    async def aclose(self) -> None:
        await self.client.aclose()

    async def round(self) -> Counter[str]:
        """Deliver what is due. Endpoints in parallel; each one's events in order, one at a time, so its
        circuit opens before a dead receiver has cost every event an attempt. Counts by outcome: delivered,
        retrying, failed (attempts spent), deferred (circuit open), released (out of time, due again now)."""
        lease = self.budget_seconds + self.timeout_seconds + _LEASE_MARGIN_SECONDS
        by_endpoint: dict[uuid.UUID, list[Due]] = {}
        for event in await webhooks.claim_due(self.pool, self.batch, lease):
            by_endpoint.setdefault(event.endpoint_id, []).append(event)
        deadline = time.monotonic() + self.budget_seconds
        rounds = await asyncio.gather(
            *(self._deliver_in_order(events, deadline) for events in by_endpoint.values()), return_exceptions=True
        )
        counts: Counter[str] = Counter()
        for endpoint_id, done in zip(by_endpoint, rounds, strict=True):
            if isinstance(done, Exception):
                # One endpoint's trouble must not cost the others their round; its events fall due again later.
                log.error("webhook deliveries to endpoint %s broke off", endpoint_id, exc_info=done)
            elif isinstance(done, BaseException):
                raise done
            else:
                counts += done
        return counts

    async def _deliver_in_order(self, events: list[Due], deadline: float) -> Counter[str]:
        counts: Counter[str] = Counter()
        for index, event in enumerate(events):
            name = str(event.endpoint_id)
            unusable = _unusable(event)
            if unusable is not None:  # no request can be made of it, now or later: failed, and its circuit untouched
                log.error("webhook event %s failed: %s", event.id, unusable.error_message)
                counts[_OUTCOME[await webhooks.record_attempt(self.pool, event.id, unusable, None)]] += 1
                continue
            # The budget first: asking the circuit may claim its half-open trial, which must then be used.
            out_of_time = index > 0 and time.monotonic() > deadline
            reopens = None if out_of_time else await self.breakers.open_until(name)
            if out_of_time or reopens is not None:
                # Handed back without an attempt: they wait for the circuit's trial, or for the next round.
                until = None if reopens is None else datetime.fromtimestamp(reopens, UTC)
                await webhooks.defer(self.pool, [waiting.id for waiting in events[index:]], until)
                counts["deferred" if until else "released"] += len(events) - index
                break
            attempt = await self._post(event)
            await self.breakers.record(name, attempt.ok)
            retried = not attempt.ok and delivery_retried(attempt.error_code)
            retry_in = self.backoff.delay(attempt.number) if retried else None
            counts[_OUTCOME[await webhooks.record_attempt(self.pool, event.id, attempt, retry_in)]] += 1
        return counts

    async def _post(self, event: Due) -> Attempt:
        body = event.body()
        headers = {
            "content-type": "application/json", "user-agent": USER_AGENT, EVENT_ID_HEADER: str(event.id),
            SIGNATURE_HEADER: sign(event.secret, int(time.time()), body),  # signed anew: each attempt is fresh
        }  # fmt: skip
        number, at, started = event.attempts + 1, datetime.now(UTC), time.perf_counter()
        try:
            # The whole exchange is bounded, and the answer's body is never read: only its status counts.
            async with (
                asyncio.timeout(self.timeout_seconds),
                self.client.stream("POST", event.url, content=body, headers=headers) as response,
            ):
                status = response.status_code
        except TARGET_ERRORS as exc:  # refused by the SSRF guard (blocked_address), unreachable, too slow…
            failure = classify(exc, self.timeout_seconds)
            return Attempt(number, at, _ms_since(started), error_code=failure.code, error_message=failure.message)
        return Attempt(number, at, _ms_since(started), status_code=status)


def _unusable(event: Due) -> Attempt | None:
    """A failed attempt if the endpoint's URL breaks the URL rules (a row written past the API's checks)."""
    try:
        urls.normalise_target(event.url)
    except urls.InvalidUrl as exc:
        message = f"the endpoint's URL cannot be used ({exc.rule}): {exc.message}"
        return Attempt(event.attempts + 1, datetime.now(UTC), 0, error_code="invalid_url", error_message=message)
    return None


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def deliverer_for(settings: Settings, pool: asyncpg.Pool, redis: Redis) -> Deliverer:
    """The scheduler's: webhook URLs pass the same SSRF guard and trust the same CAs as fetched targets; the
    endpoints' circuits live in Redis, shared by every scheduler."""
    policy = AddressPolicy(tuple(settings.fetch_allow_networks))
    timeout = settings.webhook_timeout_seconds
    context = client_ssl_context(settings.fetch_ca_file)
    return Deliverer(
        pool, guarded_client(policy, context, httpx.Timeout(timeout), resolve_map=settings.fetch_resolve),
        breakers=SharedBreakers(
            redis, "webhook", settings.webhook_breaker_fail_max, settings.webhook_breaker_reset_seconds
        ),
        backoff=Backoff(
            settings.webhook_backoff_base_seconds, settings.webhook_backoff_cap_seconds, settings.webhook_max_attempts
        ),
        timeout_seconds=timeout, budget_seconds=timeout,
    )  # fmt: skip


async def deliver(deliverer: Deliverer) -> Counter[str]:
    counts = await deliverer.round()
    for outcome, count in counts.items():
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc(count)
    if counts["failed"]:
        log.warning("%s webhook events failed for good (attempts spent)", counts["failed"])
    return counts


async def purge(pool: asyncpg.Pool, keep_seconds: float) -> int:
    purged = await webhooks.purge_finished(pool, keep_seconds)
    if purged:
        log.info("purged %s finished webhook events", purged)
    return purged
