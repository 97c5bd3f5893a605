from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from scanfleet.webhooks.breaker import Breakers

ENDPOINT, OTHER = uuid.uuid4(), uuid.uuid4()
RESET = 0.1  # a tiny reset timeout: the tests wait it out, as they override backoff to tiny values


def test_consecutive_failures_open_the_circuit_until_the_reset_timeout() -> None:
    breakers = Breakers(fail_max=3, reset_seconds=60)
    for _ in range(2):
        breakers.record(ENDPOINT, ok=False)
    breakers.record(ENDPOINT, ok=True)  # a success resets the count
    for _ in range(2):
        breakers.record(ENDPOINT, ok=False)
    assert breakers.open_until(ENDPOINT) is None

    breakers.record(ENDPOINT, ok=False)
    until = breakers.open_until(ENDPOINT)
    assert until is not None
    assert timedelta(seconds=59) < until - datetime.now(UTC) <= timedelta(seconds=60)
    assert breakers.open_until(OTHER) is None  # one circuit per endpoint


def test_after_the_timeout_a_failed_trial_opens_it_again() -> None:
    breakers = Breakers(fail_max=1, reset_seconds=RESET)
    breakers.record(ENDPOINT, ok=False)
    assert breakers.open_until(ENDPOINT) is not None
    time.sleep(RESET * 1.5)
    assert breakers.open_until(ENDPOINT) is None  # half-open: the next delivery is the trial

    breakers.record(ENDPOINT, ok=False)
    until = breakers.open_until(ENDPOINT)
    assert until is not None and until - datetime.now(UTC) > timedelta(seconds=RESET / 2)  # a whole timeout again


def test_after_the_timeout_a_successful_trial_closes_it() -> None:
    breakers = Breakers(fail_max=2, reset_seconds=RESET)
    breakers.record(ENDPOINT, ok=False)
    breakers.record(ENDPOINT, ok=False)
    time.sleep(RESET * 1.5)
    breakers.record(ENDPOINT, ok=True)

    breakers.record(ENDPOINT, ok=False)  # closed, counting from zero: one failure is not enough to open
    assert breakers.open_until(ENDPOINT) is None
