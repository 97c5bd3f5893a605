from __future__ import annotations

import pytest

from scanfleet.backoff import Backoff

BACKOFF = Backoff(base_seconds=10, cap_seconds=300, max_attempts=8)


@pytest.mark.parametrize(("failed", "ceiling"), [(1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (7, 300)])
def test_the_delay_is_drawn_below_an_exponential_ceiling_under_the_cap(failed: int, ceiling: float) -> None:
    assert BACKOFF.delay(failed, rng=lambda: 0.0) == 0.0
    assert BACKOFF.delay(failed, rng=lambda: 1.0) == ceiling
    assert 0 <= (BACKOFF.delay(failed) or 0) <= ceiling


def test_attempts_run_out() -> None:
    assert BACKOFF.delay(7) is not None
    assert BACKOFF.delay(8) is None and BACKOFF.delay(9) is None


def test_a_wait_that_never_gives_up_has_the_same_delays() -> None:
    assert BACKOFF.wait(3, rng=lambda: 1.0) == BACKOFF.delay(3, rng=lambda: 1.0) == 40
    assert BACKOFF.wait(8, rng=lambda: 1.0) == BACKOFF.wait(10**5, rng=lambda: 1.0) == 300


def test_a_huge_attempt_count_does_not_overflow() -> None:
    assert Backoff(max_attempts=10**6).delay(10**5, rng=lambda: 1.0) == Backoff().cap_seconds
