"""A circuit breaker per webhook endpoint (pybreaker), so a dead receiver stops costing attempts.

pybreaker guards synchronous calls; a delivery is async, so the delivery asks `open_until` before it
posts and reports the result with `record` afterwards, which pybreaker counts as a call.
The circuits live in the process: each scheduler replica learns an endpoint is down on its own.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pybreaker


class _Failed(Exception):
    """The receiver did not take the event: what pybreaker counts as a failed call."""


def _report(ok: bool) -> None:
    if not ok:
        raise _Failed


@dataclass(frozen=True)
class _Circuit:
    breaker: pybreaker.CircuitBreaker
    storage: pybreaker.CircuitMemoryStorage  # kept to read when the circuit opened


class Breakers:
    def __init__(self, fail_max: int = 5, reset_seconds: float = 60.0) -> None:
        self.fail_max = fail_max
        self.reset_seconds = reset_seconds
        self._circuits: dict[uuid.UUID, _Circuit] = {}

    def open_until(self, endpoint_id: uuid.UUID) -> datetime | None:
        """When the endpoint's circuit lets a trial delivery through; None if one may go now.

        After the reset timeout an open circuit passes the next delivery as its trial (half-open):
        success closes it, failure opens it for another timeout.
        """
        circuit = self._circuits.get(endpoint_id)
        if circuit is None or circuit.storage.state != pybreaker.STATE_OPEN or circuit.storage.opened_at is None:
            return None
        until = circuit.storage.opened_at + timedelta(seconds=self.reset_seconds)
        return until if until > datetime.now(UTC) else None

    def record(self, endpoint_id: uuid.UUID, ok: bool) -> None:
        circuit = self._circuits.get(endpoint_id)
        if circuit is None:
            storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
            breaker = pybreaker.CircuitBreaker(self.fail_max, self.reset_seconds, state_storage=storage)
            circuit = self._circuits[endpoint_id] = _Circuit(breaker, storage)
        # pybreaker re-raises the failure, or CircuitBreakerError when this failure opened the circuit.
        with contextlib.suppress(_Failed, pybreaker.CircuitBreakerError):
            circuit.breaker.call(_report, ok)
