from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from scanfleet.http.fetch import FetchResult, Hop, TlsInfo
from scanfleet.model import Severity
from scanfleet.worker.privacy.tls import collect_tls, days_left, expiry_severity

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def tls(not_after: datetime | None) -> TlsInfo:
    return TlsInfo(
        protocol="TLSv1.3",
        cipher="TLS_AES_128_GCM_SHA256",
        subject={"commonName": "example.com"},
        issuer={"organizationName": "Let's Encrypt", "commonName": "R11"},
        subject_alt_names=["example.com", "www.example.com"],
        not_before=NOW - timedelta(days=60),
        not_after=not_after,
    )


@pytest.mark.parametrize(
    ("remaining", "days"),
    [
        (timedelta(days=10), 10),
        (timedelta(days=10, seconds=-1), 9),  # whole days, rounded down
        (timedelta(hours=12), 0),
        (timedelta(seconds=-1), -1),  # expired a second ago
        (timedelta(days=-3, hours=1), -3),
    ],
)
def test_days_left(remaining: timedelta, days: int) -> None:
    assert days_left(NOW + remaining, NOW) == days


@pytest.mark.parametrize(
    ("days", "severity"),
    [
        (-5, Severity.HIGH),
        (0, Severity.HIGH),
        (13, Severity.HIGH),
        (14, Severity.MEDIUM),
        (29, Severity.MEDIUM),
        (30, Severity.INFO),
        (365, Severity.INFO),
        (None, Severity.INFO),
    ],
)
def test_expiry_severity_thresholds(days: int | None, severity: Severity) -> None:
    assert expiry_severity(days) is severity


def test_one_row_per_https_hop_with_tls() -> None:
    certificate = tls(NOW + timedelta(days=5))
    result = FetchResult(
        [
            Hop("http://example.com/", 301, httpx.Headers({"location": "https://example.com/"}), None, 0.0),
            Hop("https://example.com/", 301, httpx.Headers({"location": "/home"}), None, 0.0, certificate),
            Hop("https://example.com/home", 200, httpx.Headers(), None, 0.0, certificate),
        ],
        b"",
    )
    rows = collect_tls(result, NOW)
    assert [row.details["hop"] for row in rows] == [1, 2]
    assert rows[0].kind == "tls_certificate" and rows[0].location == "https://example.com/"
    assert rows[0].severity is Severity.HIGH
    assert rows[0].details == {
        "hop": 1,
        "url": "https://example.com/",
        "issuer": {"organizationName": "Let's Encrypt", "commonName": "R11"},
        "subject": {"commonName": "example.com"},
        "subject_alt_names": ["example.com", "www.example.com"],
        "not_before": "2024-12-31T12:00:00+00:00",
        "not_after": "2025-03-06T12:00:00+00:00",
        "days_left": 5,
        "expired": False,
        "protocol": "TLSv1.3",
        "cipher": "TLS_AES_128_GCM_SHA256",
    }
    assert "Let's Encrypt" in rows[0].title and "5 days left" in rows[0].title


def test_expired_and_undated_certificates() -> None:
    def row(not_after: datetime | None) -> dict[str, Any]:
        hop = Hop("https://example.com/", 200, httpx.Headers(), None, 0.0, tls(not_after))
        return collect_tls(FetchResult([hop], b""), NOW)[0].details

    expired = row(NOW - timedelta(hours=1))
    assert expired["expired"] is True and expired["days_left"] == -1
    undated = row(None)
    assert undated["days_left"] is None and undated["expired"] is False and undated["not_after"] is None


def test_plain_http_chain_has_no_rows() -> None:
    assert collect_tls(FetchResult([Hop("http://example.com/", 200, httpx.Headers(), None, 0.0)], b""), NOW) == []
