"""Circuit breakers shared by every replica (pybreaker's state machine over state the broker keeps in Redis)."""

from scanfleet.breakers.shared import SharedBreakers

__all__ = ["SharedBreakers"]
