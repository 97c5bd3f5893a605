"""Which failures get another try, and how long the next one waits."""

from __future__ import annotations

import pytest

from scanfleet.model import Outcome, Status
from scanfleet.retry import RetryPolicy, delivery_retried, is_transient


def failed(code: str, status: int | None = None) -> Outcome:
    return Outcome(Status.FAILED, error_code=code, http_status=status)


@pytest.mark.parametrize(
    ("outcome", "transient"),
    [
        (failed("timeout"), True),
        (failed("connect_error"), True),  # refused or reset: a server restarting
        (failed("protocol_error"), True),  # a connection cut mid-answer
        (failed("dns_unavailable"), True),  # the resolver could not answer
        (failed("http_error", 503), True),
        (failed("http_error", 500), True),
        (failed("http_error", 429), True),
        (failed("http_error", 404), False),
        (failed("http_error", 403), False),
        (failed("dns_error"), False),  # no such name
        (failed("blocked_address"), False),  # the SSRF guard said no
        (failed("invalid_url"), False),  # a redirect's Location among them
        (failed("headers_too_large"), False),  # the same oversized answer every time
        (failed("tls_error"), False),
        (failed("not_html"), False),
        (failed("too_many_redirects"), False),
        (failed("analysis_error"), False),
        (Outcome(Status.SUCCEEDED, http_status=200), False),
    ],
)
def test_failures_are_classified(outcome: Outcome, transient: bool) -> None:
    assert is_transient(outcome) is transient


def test_each_kind_has_its_own_retry_limit() -> None:
    policy = RetryPolicy({"privacy": 3, "checks": 1}, base_seconds=2, cap_seconds=300)

    assert [policy.delay("privacy", done) is not None for done in range(4)] == [True, True, True, False]
    assert [policy.delay("checks", done) is not None for done in range(2)] == [True, False]
    assert policy.delay("unknown", 0) is None


def test_full_jitter_stays_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy({"privacy": 10}, base_seconds=2, cap_seconds=20)
    for done in range(10):
        delays = [policy.delay("privacy", done) for _ in range(200)]
        ceiling = min(20, 2 * 2**done)
        assert all(d is not None and 0 <= d <= ceiling for d in delays)
        assert max(d for d in delays if d is not None) > ceiling / 2  # spread over the range, not pinned low


@pytest.mark.parametrize(
    ("code", "retried"),
    [(None, True), ("timeout", True), ("connect_error", True), ("dns_error", True), ("tls_error", True),
     ("blocked_address", False), ("invalid_url", False), ("headers_too_large", False)],
)  # fmt: skip
def test_webhook_deliveries_are_retried_unless_they_cannot_succeed(code: str | None, retried: bool) -> None:
    assert delivery_retried(code) is retried  # None: an answer that was not 2xx
