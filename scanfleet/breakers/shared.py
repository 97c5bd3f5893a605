"""Circuit breakers shared by every replica: state in Redis, pybreaker's state machine in each process.

An operation reads a breaker's snapshot (one GET), lets pybreaker decide over it in memory (circuit.py), and
writes the result back through commit.lua only if the snapshot is still the one read. Two replicas racing
therefore never lose a failure nor both win a transition or the half-open trial: the loser decides again from
the state the script returns. Nothing changed, nothing written: a healthy breaker costs one GET per call, and a
call's outcome recorded from the snapshot its admission read (`Pass.seen`) costs none more unless it changes
something (the write is a compare-and-set against that snapshot, so a stale one only costs a round). A call that
passes several breakers reads them all in one MGET (`read_together`), and each admission decides on its snapshot.

Every Redis step is async (redis.asyncio) and bounded in time. When Redis fails, calls go: a breaker must
never stop the fleet on its own.


The state's keys and scripts are the broker's (scanfleet.broker.breakers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scanfleet import metrics
from scanfleet.breakers.circuit import OPEN, Circuit, Snapshot
from scanfleet.broker.breakers import BreakerStore, read_snapshots
from scanfleet.broker.keys import BREAKER_PREFIX

log = logging.getLogger(__name__)

IDLE_SECONDS = 86_400.0  # a breaker untouched this long past its timeouts is forgotten
REDIS_TIMEOUT_SECONDS = 1.0  # a breaker call that waits longer on Redis lets the call go
# Compare-and-set rounds before giving up; each lost round means another replica's write won.
_MAX_ROUNDS = 32
_UNAVAILABLE = (RedisError, OSError, TimeoutError)

State = Literal["closed", "open", "half-open"]
T = TypeVar("T")


@dataclass(frozen=True)
class Pass:
    """A breaker's answer to a call: `until` as `open_until` returns it, and the snapshot it decided on (None
    when Redis did not answer), for `record` to start from."""

    until: float | None
    seen: str | None


class SharedBreakers:
    """The breakers of one kind (e.g. one per target host), by name. Names stay out of metric labels."""

    def __init__(
        self,
        redis: Redis,
        kind: str,
        fail_max: int,
        reset_seconds: float,
        prefix: str = BREAKER_PREFIX,
        *,
        trial_seconds: float | None = None,
    ) -> None:
        self.store = BreakerStore(redis, kind, prefix)
        self.kind = kind
        self.fail_max = fail_max
        self.reset_seconds = reset_seconds
        # How long the half-open trial is held for its caller: past it, another caller may try.
        self.trial_seconds = reset_seconds if trial_seconds is None else trial_seconds
        self._ttl_seconds = reset_seconds + self.trial_seconds + IDLE_SECONDS
        self._unavailable = False

    async def open_until(self, name: str) -> float | None:
        """Epoch seconds when the circuit lets a call through; None: go now. In half-open, exactly one caller
        fleet-wide gets None (the trial) until its outcome is recorded or its claim lapses."""
        return (await self.admit(name)).until

    async def admit(self, name: str, seen: str | None = None) -> Pass:
        """`open_until`, with the snapshot it decided on. `seen`: the snapshot `read_together` just read, instead of
        reading it again."""
        return await self._or_go(self._admit(name, seen), Pass(None, None))

    async def record(self, name: str, ok: bool, seen: str | None = None) -> State | None:
        """A call's outcome: success closes (or keeps closed), failure counts and may open. `seen`: the snapshot
        the call's admission read (`Pass.seen`), instead of reading it again.
        Returns the state this outcome moved the circuit to, or None if it moved nothing."""
        return await self._or_go(self._record(name, ok, seen), None)

    async def state(self, name: str) -> State:
        snapshot = await self._or_go(self._read(name), "")
        return Snapshot.decode(snapshot).state  # type: ignore[return-value]

    async def _admit(self, name: str, seen: str | None) -> Pass:
        raw = await self._read(name) if seen is None else seen
        for _ in range(_MAX_ROUNDS):
            circuit = Circuit(Snapshot.decode(raw), self.fail_max, self.reset_seconds)
            until = circuit.admit(time.time(), self.trial_seconds)
            if until is not None or not circuit.changed:
                return Pass(until, raw)
            won, raw = await self._write(name, raw, circuit)
            if won:
                return Pass(None, raw)
        self._contended(name)
        return Pass(None, None)

    async def _record(self, name: str, ok: bool, seen: str | None) -> State | None:
        raw = await self._read(name) if seen is None else seen
        for _ in range(_MAX_ROUNDS):
            circuit = Circuit(Snapshot.decode(raw), self.fail_max, self.reset_seconds)
            circuit.record(ok)
            if not circuit.changed:
                return None
            won, raw = await self._write(name, raw, circuit)
            if won:
                return circuit.transitions[-1][1] if circuit.transitions else None  # type: ignore[return-value]
        self._contended(name)
        return None

    async def read_together(self, name: str, others: Sequence[tuple[SharedBreakers, str]]) -> list[str]:
        """The snapshots of this breaker and of `others` (any kinds, on this breaker's Redis client) in one round
        trip, for their `admit`s to decide on. When Redis does not answer, each reads as closed with no failures:
        calls go, as when any breaker call fails, and no admission waits on Redis again."""
        if any(breaker.store.redis is not self.store.redis for breaker, _ in others):
            raise ValueError("breakers read together must share one Redis client")
        breakers = [(self.store, name), *((breaker.store, other) for breaker, other in others)]
        return await self._or_go(read_snapshots(self.store.redis, breakers), [""] * len(breakers))

    async def _read(self, name: str) -> str:
        return await self.store.read(name)

    async def _write(self, name: str, expected: str, circuit: Circuit) -> tuple[bool, str]:
        """Compare and set; (won, the snapshot now in Redis)."""
        after = circuit.after
        won, current = await self.store.replace(name, expected, after.encode(), after.since, self._ttl_seconds)
        if won:
            self._announce(name, circuit.transitions)
        return won, current

    def _announce(self, name: str, transitions: list[tuple[str, str]]) -> None:
        for old, new in transitions:
            metrics.BREAKER_TRANSITIONS.labels(self.kind, new).inc()
            level = logging.WARNING if new == OPEN else logging.INFO
            log.log(level, "circuit breaker %s %s: %s -> %s", self.kind, name, old, new)

    def _contended(self, name: str) -> None:
        log.warning("circuit breaker %s %s: state kept changing under us; letting the call go", self.kind, name)

    async def _or_go(self, operation: Awaitable[T], fallback: T) -> T:
        """The operation's answer, or `fallback` (calls go) when Redis fails or is slow; logged once per outage."""
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                result = await operation
        except _UNAVAILABLE as exc:
            if not self._unavailable:
                self._unavailable = True
                log.warning("circuit breakers %s: Redis unavailable (%r); calls go until it answers", self.kind, exc)
            return fallback
        if self._unavailable:
            self._unavailable = False
            log.info("circuit breakers %s: Redis answers again", self.kind)
        return result
