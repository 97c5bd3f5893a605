"""Which failed jobs get another try, and when.

A transient failure (a timeout, a reset connection, a 5xx or 429 answer, a resolver that could not answer)
may pass: the job runs again after an exponential backoff with full jitter, up to a limit per job kind.
Anything else the target did (no such name, a 4xx, a refused address, content we cannot read) will not
change by asking again, so it fails at once with its own error code.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanfleet.backoff import Backoff
from scanfleet.config import Settings
from scanfleet.model import Outcome, Status

# A browser that crashed or hung mid-page is replaced: the page is tried again in the new one.
TRANSIENT_CODES = frozenset(
    {"timeout", "connect_error", "protocol_error", "dns_unavailable", "browser_crashed", "browser_hung"}
)
# Failures no attempt can mend, whatever it is (a job, a webhook delivery): the SSRF guard refused the address,
# the URL or a redirect's Location breaks the URL rules, the answer's header block is too large to read.
PERMANENT_CODES = frozenset({"blocked_address", "invalid_url", "headers_too_large"})


def delivery_retried(error_code: str | None) -> bool:
    """A failed webhook delivery is tried again (any status, any network failure) unless it cannot succeed."""
    return error_code not in PERMANENT_CODES


def is_transient(outcome: Outcome) -> bool:
    if outcome.status is not Status.FAILED:
        return False
    if outcome.error_code == "http_error":
        return outcome.http_status is not None and (outcome.http_status >= 500 or outcome.http_status == 429)
    return outcome.error_code in TRANSIENT_CODES


@dataclass(frozen=True)
class RetryPolicy:
    limits: dict[str, int]  # retries allowed, by job kind
    base_seconds: float
    cap_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            {"privacy": settings.retry_max_privacy, "checks": settings.retry_max_checks},
            settings.retry_base_seconds,
            settings.retry_cap_seconds,
        )

    def delay(self, kind: str, retries_done: int) -> float | None:
        """Seconds before the next try of a job that failed transiently, or None when its retries are spent."""
        limit = self.limits.get(kind, 0)
        return Backoff(self.base_seconds, self.cap_seconds, limit + 1).delay(retries_done + 1)
