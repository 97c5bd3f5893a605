"""When a failed attempt (a webhook delivery, a job) is tried again: exponential backoff with full jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# 2**40 base periods is far past any cap: stops the exponent before the float overflows.
_MAX_EXPONENT = 40


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 10.0
    cap_seconds: float = 3600.0
    max_attempts: int = 8

    def delay(self, failed_attempts: int, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait after the `failed_attempts`-th failure, or None when the attempts are spent.

        Full jitter (a uniform draw below the exponential ceiling) spreads out the retries of many events
        that failed together, so a receiver coming back is not hit by all of them at once.
        """
        if failed_attempts >= self.max_attempts:
            return None
        return self.wait(failed_attempts, rng)

    def wait(self, failed_attempts: int, rng: Callable[[], float] = random.random) -> float:
        """The same delay, for a wait that never gives up (an outage waited out): `max_attempts` does not apply."""
        ceiling: float = self.base_seconds * 2 ** min(failed_attempts - 1, _MAX_EXPONENT)
        return rng() * min(self.cap_seconds, ceiling)
