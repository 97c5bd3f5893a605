"""Who a request's API key acts for, looked up in PostgreSQL and then trusted for a few seconds in this process.

A key is looked up again `SCANFLEET_API_KEY_CACHE_SECONDS` after it was last verified, and never trusted past
the end of a rotated key's grace period. A key revoked, or an organisation's tier changed, through this process
is dropped from its cache at once; through another process (another API worker or replica, the CLI) it takes
effect here within the cache's time. Only keys that verified are kept: a new key works at once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import asyncpg

from scanfleet import keys
from scanfleet.db import api_keys
from scanfleet.db.api_keys import Principal

MAX_KEYS = 10_000  # verified keys kept at most; past this the ones verified longest ago go first


class Principals:
    def __init__(self, pool: asyncpg.Pool, trust_seconds: float) -> None:
        self._pool = pool
        self._trust_seconds = trust_seconds
        self._verified: dict[bytes, tuple[float, Principal]] = {}  # the key's digest: (trusted until, principal)

    async def authenticate(self, key: str) -> Principal | None:
        digest = keys.digest(key)
        now = time.monotonic()
        cached = self._verified.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await api_keys.authenticate(self._pool, key)
        if found is None:
            self._verified.pop(digest, None)
            return None
        trust = self._trust_seconds if found.revoked_in is None else min(self._trust_seconds, found.revoked_in)
        if trust > 0:
            self._verified.pop(digest, None)  # re-inserted last: the dict's order is the order of verification
            self._verified[digest] = (now + trust, found)
            while len(self._verified) > MAX_KEYS:
                del self._verified[next(iter(self._verified))]
        return found

    def forget_key(self, key_id: uuid.UUID) -> None:
        """The key was revoked or rotated here: it is looked up again on its next use."""
        self._forget(lambda principal: principal.key_id == key_id)

    def forget_org(self, org_id: uuid.UUID) -> None:
        """The organisation's tier or limits changed here: its keys are looked up again on their next use."""
        self._forget(lambda principal: principal.org_id == org_id)

    def _forget(self, matches: Callable[[Principal], bool]) -> None:
        for digest in [digest for digest, (_, principal) in self._verified.items() if matches(principal)]:
            del self._verified[digest]
