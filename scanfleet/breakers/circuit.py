"""One breaker's state, and pybreaker's state machine run over it in memory.

A replica reads a breaker's snapshot from Redis, lets pybreaker decide on an in-memory copy (no I/O while it
runs: pybreaker's storage calls are synchronous), then writes the copy back atomically (see shared.py).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

import pybreaker

CLOSED, OPEN, HALF_OPEN = pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN


@dataclass
class Snapshot:
    """What Redis keeps of one breaker. Times are epoch seconds."""

    state: str = CLOSED
    failures: int = 0  # failures in a row: pybreaker's fail counter
    opened_at: float | None = None  # the latest opening: the reset timeout runs from here
    since: float | None = None  # when it left closed; a failed trial reopens it without moving this
    trial_until: float | None = None  # half-open: when the trial's claim lapses (its caller may have died)

    def encode(self) -> str:
        """'' for the default (closed, no failures): Redis keeps no key for a healthy breaker."""
        if self.state == CLOSED and self.failures == 0:
            return ""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> Snapshot:
        return cls(**json.loads(raw)) if raw else cls()


class MirrorStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker's storage over an in-memory copy of a snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__("redis-mirror")
        self.snapshot = replace(snapshot)
        # pybreaker's half-open success count: with its success_threshold of 1 it never outlives one call,
        # so Redis need not keep it.
        self._successes = 0

    @property
    def state(self) -> str:
        return self.snapshot.state

    @state.setter
    def state(self, state: str) -> None:
        current = self.snapshot
        current.state = state
        if state != HALF_OPEN:
            current.trial_until = None
        if state == CLOSED:
            current.opened_at = current.since = None
        elif current.since is None:
            current.since = current.opened_at  # pybreaker sets opened_at before the state it opens

    def increment_counter(self) -> None:
        self.snapshot.failures += 1

    def reset_counter(self) -> None:
        self.snapshot.failures = 0

    def increment_success_counter(self) -> None:
        self._successes += 1

    def reset_success_counter(self) -> None:
        self._successes = 0

    @property
    def counter(self) -> int:
        return self.snapshot.failures

    @property
    def success_counter(self) -> int:
        return self._successes

    @property
    def opened_at(self) -> datetime | None:
        at = self.snapshot.opened_at
        return None if at is None else datetime.fromtimestamp(at, UTC)

    @opened_at.setter
    def opened_at(self, at: datetime) -> None:
        self.snapshot.opened_at = at.timestamp()


class _Transitions(pybreaker.CircuitBreakerListener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        self.seen.append((old_state.name if old_state else "", new_state.name))


class _Failed(Exception):
    """The guarded call failed: what pybreaker counts."""


def _report(ok: bool) -> None:
    if not ok:
        raise _Failed


class Circuit:
    """pybreaker's state machine applied once to a snapshot. `after` is what to write back if `changed`;
    `transitions` are the (old, new) states it went through, to announce once the write has won."""

    def __init__(self, snapshot: Snapshot, fail_max: int, reset_seconds: float) -> None:
        self.before = snapshot
        self._storage = MirrorStorage(snapshot)
        self._listener = _Transitions()
        self._breaker = pybreaker.CircuitBreaker(
            fail_max, reset_seconds, state_storage=self._storage, listeners=[self._listener]
        )

    @property
    def after(self) -> Snapshot:
        return self._storage.snapshot

    @property
    def changed(self) -> bool:
        return self.after != self.before

    @property
    def transitions(self) -> list[tuple[str, str]]:
        return self._listener.seen

    def record(self, ok: bool) -> None:
        """A call's outcome, as pybreaker counts it: a success closes (from half-open) or clears the count; a
        failure counts and may open. While open within its timeout, the outcome of a call started before the
        circuit opened is ignored; past its timeout, an outcome is the trial's."""
        # pybreaker re-raises the failure, or CircuitBreakerError when open or when this failure opened it.
        with contextlib.suppress(_Failed, pybreaker.CircuitBreakerError):
            self._breaker.call(_report, ok)

    def admit(self, now: float, trial_seconds: float) -> float | None:
        """None if a call may go now; else when one may. Past an open circuit's timeout the caller takes the
        half-open trial, and holds it until `now + trial_seconds`: others wait for its outcome or that time."""
        current = self.after
        if current.state == CLOSED:
            return None
        if current.state == OPEN:
            reopens = (current.opened_at or 0.0) + self._breaker.reset_timeout
            if now < reopens:
                return reopens
            self._breaker.half_open()
        elif current.trial_until is not None and current.trial_until > now:
            return current.trial_until
        current.trial_until = now + trial_seconds
        return None
