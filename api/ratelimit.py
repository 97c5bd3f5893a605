"""Requests per minute per API key (and per share link, an allowance of its own), shared by every API replica (the
broker's atomic step), and the RateLimit headers on every authenticated response, whatever produced it: the route's
own response, a validation error, a refusal (429 for a full queue included) or a 304. The caller's dependency leaves
its decision's headers in the request's state; the request context (`context`) adds them as the response starts."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Scope

from scanfleet.broker.keys import RATE_LIMIT_PREFIX
from scanfleet.broker.ratelimit import Allowances, Taken

_STATE_KEY = "rate_limit_headers"
PERIOD_MS = 60_000
SHARE_PREFIX = f"{RATE_LIMIT_PREFIX}share:"  # share links' allowances, apart from the API keys'


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int  # 0 when allowed
    reset_seconds: int  # until the full allowance is back

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit header fields, plus Retry-After when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers


@dataclass
class _Lease:
    """What this process knows of a key's shared allowance: requests it took and has not spent yet (`left`), or,
    with none left, that Redis refused it (`refused`) until `until`."""

    left: int
    until: float  # monotonic: what is left then is dropped; a refusal holds until then
    limit: int
    remaining: int  # the shared allowance's, when they were taken
    reset_ms: int
    refused: bool = False


class RateLimiter:
    """One process's view of the shared allowances. A key's requests are taken from Redis a batch at a time: 1% of
    its limit per minute (one at a time under 200), held for at most LEASE_SECONDS. So a busy key costs a round
    trip per batch, not per request; across processes a key may be refused up to a batch early, or admit up to a
    batch more within a minute, per process. A refused busy key is refused here until its Retry-After, without
    asking Redis again (nor queueing its requests behind one another's)."""

    LEASE_SECONDS = 1.0
    _PRUNE_AT = 4096  # keys known before the stale ones are dropped (at most once a LEASE_SECONDS)

    def __init__(self, allowances: Allowances, clock: Callable[[], float] = time.monotonic) -> None:
        self._allowances = allowances
        self._clock = clock
        self._leases: dict[uuid.UUID, _Lease] = {}
        # One take from Redis at a time per key: concurrent requests of a key whose lease ran out wait for the one
        # batch instead of each taking (and then dropping) a batch of its own.
        self._taking: dict[uuid.UUID, asyncio.Lock] = {}
        self._pruned_at = -math.inf

    async def hit(self, key_id: uuid.UUID, requests_per_minute: int) -> Decision:
        batch = requests_per_minute // 100
        if batch <= 1:  # one request a round trip: nothing to lease
            return _decision(await self._allowances.take(key_id, requests_per_minute, PERIOD_MS), requests_per_minute)
        known = self._known(key_id, requests_per_minute)
        if known is not None:
            return known
        async with self._taking.setdefault(key_id, asyncio.Lock()):
            known = self._known(key_id, requests_per_minute)  # the batch another request took meanwhile
            if known is not None:
                return known
            taken = await self._allowances.take(key_id, requests_per_minute, PERIOD_MS, batch)
            self._keep(key_id, taken, requests_per_minute)
        return _decision(taken, requests_per_minute)

    def _known(self, key_id: uuid.UUID, requests_per_minute: int) -> Decision | None:
        """The decision this process can make alone: a request from the key's lease, or its refusal held."""
        lease = self._leases.get(key_id)
        now = self._clock()
        if lease is None or now >= lease.until or lease.limit != requests_per_minute:
            return None
        reset = math.ceil(lease.reset_ms / 1000)
        if lease.refused:
            return Decision(False, requests_per_minute, 0, max(1, math.ceil(lease.until - now)), reset)
        if lease.left <= 0:
            return None
        lease.left -= 1
        return Decision(True, requests_per_minute, lease.remaining + lease.left, 0, reset)

    def _keep(self, key_id: uuid.UUID, taken: Taken, requests_per_minute: int) -> None:
        now = self._clock()
        if now - self._pruned_at >= self.LEASE_SECONDS and len(self._taking) >= self._PRUNE_AT:
            self._pruned_at = now
            self._leases = {key: kept for key, kept in self._leases.items() if kept.until > now}
            self._taking = {key: lock for key, lock in self._taking.items() if lock.locked() or key in self._leases}
        if taken.taken == 0:
            until = now + taken.retry_after_ms / 1000
            self._leases[key_id] = _Lease(0, until, requests_per_minute, 0, taken.reset_ms, refused=True)
        elif taken.taken > 1:
            until = now + self.LEASE_SECONDS
            self._leases[key_id] = _Lease(taken.taken - 1, until, requests_per_minute, taken.remaining, taken.reset_ms)
        else:
            self._leases.pop(key_id, None)


def _decision(taken: Taken, requests_per_minute: int) -> Decision:
    return Decision(
        allowed=taken.taken > 0,
        limit=requests_per_minute,
        remaining=taken.remaining + max(taken.taken - 1, 0),
        retry_after_seconds=0 if taken.taken else max(1, math.ceil(taken.retry_after_ms / 1000)),
        reset_seconds=math.ceil(taken.reset_ms / 1000),
    )


def share_key(token: str) -> uuid.UUID:
    """A share link's allowance key: a digest of its token (the token itself is a credential, kept out of Redis)."""
    return uuid.UUID(bytes=hashlib.sha256(token.encode()).digest()[:16])


def remember(request: Request, headers: dict[str, str]) -> None:
    request.state.rate_limit_headers = headers


def add_headers(scope: Scope, message: Message) -> None:
    """Onto a response's start: the headers of the rate-limit decision its request was answered under, if any
    (those the response sets itself win)."""
    found = scope.get("state", {}).get(_STATE_KEY)
    if found:
        headers = MutableHeaders(scope=message)
        for name, value in found.items():
            if name not in headers:
                headers[name] = value
