"""The Scanfleet-Signature header: HMAC-SHA256 over "<unix seconds>.<raw body>", Stripe-style.

README.md gives customers the same check in standard-library Python; a unit test runs that snippet
against `sign`, so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Scanfleet-Signature"
EVENT_ID_HEADER = "Scanfleet-Event-Id"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp`: "t=<timestamp>,v1=<hex digest>"."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, tolerance_seconds: float = 300, now: float | None = None) -> bool:
    """True if `header` signs exactly `body` with `secret` and is at most `tolerance_seconds` old.

    The timestamp is inside the signed text, so a captured delivery cannot be replayed later under a fresh
    one. Several v1 values may come (a secret being rotated): any one matching is enough.
    """
    pairs = [item.strip().partition("=") for item in header.split(",")]
    timestamps = [value for key, _, value in pairs if key == "t"]
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()):
        return False
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, _, value in pairs if key == "v1")
