"""Requests per minute per API key (and per share link, an allowance of its own), shared by every API replica (the
broker's atomic step), and the RateLimit headers on every authenticated response, whatever produced it: the route's
own response, a validation error, a refusal (429 for a full queue included) or a 304. The caller's dependency leaves
its decision's headers in the request's state; they are added as the response starts."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    """Requests this process took from a key's shared allowance and has not spent yet."""

    left: int
    until: float  # monotonic: what is left then is dropped
    limit: int
    remaining: int  # the shared allowance's, when they were taken
    reset_ms: int


class RateLimiter:
    """One process's view of the shared allowances. A key's requests are taken from Redis a batch at a time: 1% of
    its limit per minute (one at a time under 200), held for at most LEASE_SECONDS. So a busy key costs a round
    trip per batch, not per request; across processes a key may be refused up to a batch early, or admit up to a
    batch more within a minute, per process."""

    LEASE_SECONDS = 1.0
    _PRUNE_AT = 4096  # keys kept before those without a live lease are dropped

    def __init__(self, allowances: Allowances) -> None:
        self._allowances = allowances
        self._leases: dict[uuid.UUID, _Lease] = {}
        # One take from Redis at a time per key: concurrent requests of a key whose lease ran out wait for the one
        # batch instead of each taking (and then dropping) a batch of its own.
        self._taking: dict[uuid.UUID, asyncio.Lock] = {}

    async def hit(self, key_id: uuid.UUID, requests_per_minute: int) -> Decision:
        batch = requests_per_minute // 100
        if batch <= 1:  # one request a round trip: nothing to lease
            return self._decision(
                await self._allowances.take(key_id, requests_per_minute, PERIOD_MS), requests_per_minute
            )
        spent = self._spend(key_id, requests_per_minute)
        if spent is not None:
            return spent
        async with self._taking.setdefault(key_id, asyncio.Lock()):
            spent = self._spend(key_id, requests_per_minute)  # the batch another request took meanwhile
            if spent is not None:
                return spent
            taken = await self._allowances.take(key_id, requests_per_minute, PERIOD_MS, batch)
            if taken.taken > 1:
                self._keep(key_id, _Lease(taken.taken - 1, time.monotonic() + self.LEASE_SECONDS,
                                          requests_per_minute, taken.remaining, taken.reset_ms))  # fmt: skip
        return self._decision(taken, requests_per_minute)

    @staticmethod
    def _decision(taken: Taken, requests_per_minute: int) -> Decision:
        return Decision(
            allowed=taken.taken > 0,
            limit=requests_per_minute,
            remaining=taken.remaining + max(taken.taken - 1, 0),
            retry_after_seconds=0 if taken.taken else max(1, math.ceil(taken.retry_after_ms / 1000)),
            reset_seconds=math.ceil(taken.reset_ms / 1000),
        )

    def _spend(self, key_id: uuid.UUID, requests_per_minute: int) -> Decision | None:
        """One request from the key's lease, if it has one left in time (and for the same limit)."""
        lease = self._leases.get(key_id)
        if lease is None or lease.left <= 0 or time.monotonic() >= lease.until or lease.limit != requests_per_minute:
            return None
        lease.left -= 1
        return Decision(True, requests_per_minute, lease.remaining + lease.left, 0, math.ceil(lease.reset_ms / 1000))

    def _keep(self, key_id: uuid.UUID, lease: _Lease) -> None:
        if len(self._leases) >= self._PRUNE_AT:
            now = time.monotonic()
            self._leases = {key: kept for key, kept in self._leases.items() if kept.until > now}
            self._taking = {key: lock for key, lock in self._taking.items() if lock.locked() or key in self._leases}
        self._leases[key_id] = lease


def share_key(token: str) -> uuid.UUID:
    """A share link's allowance key: a digest of its token (the token itself is a credential, kept out of Redis)."""
    return uuid.UUID(bytes=hashlib.sha256(token.encode()).digest()[:16])


def remember(request: Request, headers: dict[str, str]) -> None:
    request.state.rate_limit_headers = headers


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = scope.get("state", {}).get(_STATE_KEY)
                if found:
                    headers = MutableHeaders(scope=message)
                    for name, value in found.items():
                        if name not in headers:
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
