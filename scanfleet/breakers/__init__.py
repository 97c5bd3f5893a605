"""Circuit breakers shared by every replica through Redis (pybreaker's state machine, async Redis storage)."""

from scanfleet.breakers.gauges import breaker_gauges
from scanfleet.breakers.shared import DEFAULT_PREFIX, SharedBreakers

__all__ = ["DEFAULT_PREFIX", "SharedBreakers", "breaker_gauges"]
