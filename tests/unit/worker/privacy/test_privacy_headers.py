from typing import Any

import httpx
import pytest

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.model import Severity
from scanfleet.worker.privacy.headers import (
    collect_security_headers,
    parse_csp,
    parse_hsts,
    parse_permissions_policy,
    parse_referrer_policy,
)


def result(url: str, headers: list[tuple[str, str]]) -> FetchResult:
    return FetchResult([Hop(url, 200, httpx.Headers(headers), None, 0.0)], b"")


def by_header(res: FetchResult) -> dict[str, dict[str, Any]]:
    return {row.details["header"]: row.details for row in collect_security_headers(res)}


@pytest.mark.parametrize(
    ("value", "max_age", "subdomains", "preload"),
    [
        ("max-age=31536000; includeSubDomains; preload", 31536000, True, True),
        ('max-age="600"', 600, False, False),
        ("  MAX-AGE=0 ;INCLUDESUBDOMAINS", 0, True, False),
        ("includeSubDomains", None, True, False),  # max-age is required
        ("max-age=abc", None, False, False),
        ("max-age=-1", None, False, False),
        ("max-age=100; max-age=200", None, False, False),  # repeated directive: invalid header
        ("max-age=100;;", 100, False, False),
    ],
)
def test_parse_hsts(value: str, max_age: int | None, subdomains: bool, preload: bool) -> None:
    assert parse_hsts(value) == {"max_age": max_age, "include_subdomains": subdomains, "preload": preload}


def test_parse_csp() -> None:
    assert parse_csp(
        "default-src 'self'; Script-Src 'self' https://cdn.test  ;img-src *; upgrade-insecure-requests;"
    ) == [
        {
            "default-src": ["'self'"],
            "script-src": ["'self'", "https://cdn.test"],
            "img-src": ["*"],
            "upgrade-insecure-requests": [],
        }
    ]


def test_parse_csp_first_duplicate_wins_and_commas_split_policies() -> None:
    assert parse_csp("script-src a; script-src b, frame-ancestors 'none'") == [
        {"script-src": ["a"]},
        {"frame-ancestors": ["'none'"]},
    ]
    assert parse_csp(" ; ,") == []


def test_parse_referrer_policy_last_recognised_token_wins() -> None:
    assert parse_referrer_policy("no-referrer, strict-origin-when-cross-origin") == "strict-origin-when-cross-origin"
    assert parse_referrer_policy("same-origin, made-up") == "same-origin"
    assert parse_referrer_policy("made-up") is None


def test_parse_permissions_policy() -> None:
    assert parse_permissions_policy(
        'geolocation=(), camera=(self "https://a.test"), fullscreen=*, usb=self;report-to=x'
    ) == {
        "geolocation": [],
        "camera": ["self", "https://a.test"],
        "fullscreen": ["*"],
        "usb": ["self"],
    }


def test_all_present_on_https() -> None:
    rows = collect_security_headers(
        result(
            "https://example.com/",
            [
                ("strict-transport-security", "max-age=63072000; includeSubDomains"),
                ("content-security-policy", "default-src 'self'"),
                ("content-security-policy", "frame-ancestors 'self'"),
                ("referrer-policy", "no-referrer"),
                ("permissions-policy", "camera=()"),
                ("x-content-type-options", "NoSniff"),
                ("x-frame-options", "sameorigin"),
            ],
        )
    )
    assert [r.title for r in rows] == [
        "Strict-Transport-Security present",
        "Content-Security-Policy present",
        "Referrer-Policy present",
        "Permissions-Policy present",
        "X-Content-Type-Options present",
        "X-Frame-Options present",
    ]
    assert all(r.kind == "security_header" and r.severity is Severity.INFO for r in rows)
    details = {r.details["header"]: r.details for r in rows}
    assert details["Strict-Transport-Security"]["effective"] is True
    assert details["Strict-Transport-Security"]["max_age"] == 63072000
    assert details["Content-Security-Policy"]["policies"] == [
        {"default-src": ["'self'"]},
        {"frame-ancestors": ["'self'"]},
    ]
    assert details["Referrer-Policy"]["policy"] == "no-referrer"
    assert details["Permissions-Policy"]["features"] == {"camera": []}
    assert details["X-Content-Type-Options"]["nosniff"] is True
    assert details["X-Frame-Options"]["protects"] is True


def test_all_missing_have_same_keys_and_low_severity() -> None:
    rows = collect_security_headers(result("https://example.com/", []))
    assert rows[0].title == "Strict-Transport-Security missing"
    assert all(not r.details["present"] and r.details["value"] is None for r in rows)
    assert all(r.severity is Severity.LOW for r in rows)
    details = {r.details["header"]: r.details for r in rows}
    assert details["Strict-Transport-Security"] == {
        "header": "Strict-Transport-Security",
        "present": False,
        "value": None,
        "max_age": None,
        "include_subdomains": False,
        "preload": False,
        "effective": False,
    }
    assert details["X-Frame-Options"]["protects"] is False


def test_hsts_over_http_is_not_effective_and_its_absence_is_info() -> None:
    present = by_header(result("http://example.com/", [("strict-transport-security", "max-age=31536000")]))
    assert present["Strict-Transport-Security"]["max_age"] == 31536000
    assert present["Strict-Transport-Security"]["effective"] is False
    [hsts_row, *_] = collect_security_headers(result("http://example.com/", []))
    assert hsts_row.severity is Severity.INFO


def test_only_the_first_hsts_header_counts() -> None:
    details = by_header(
        result(
            "https://e.test/",
            [("strict-transport-security", "max-age=5"), ("strict-transport-security", "max-age=9")],
        )
    )
    assert details["Strict-Transport-Security"]["max_age"] == 5


@pytest.mark.parametrize(
    ("value", "protects"),
    [
        ("DENY", True),
        ("allow-from https://a.test", False),
        ("ALLOWALL", False),
        ("SAMEORIGIN, SAMEORIGIN", True),
    ],
)
def test_frame_options(value: str, protects: bool) -> None:
    assert by_header(result("https://e.test/", [("x-frame-options", value)]))["X-Frame-Options"]["protects"] is protects


def test_content_type_options_other_value() -> None:
    details = by_header(result("https://e.test/", [("x-content-type-options", "sniff-away")]))
    assert details["X-Content-Type-Options"]["present"] is True
    assert details["X-Content-Type-Options"]["nosniff"] is False


def test_headers_are_read_from_the_final_hop_only() -> None:
    res = FetchResult(
        [
            Hop(
                "https://e.test/",
                301,
                httpx.Headers({"location": "/home", "x-frame-options": "DENY"}),
                None,
                0.0,
            ),
            Hop("https://e.test/home", 200, httpx.Headers({}), None, 0.0),
        ],
        b"",
    )
    assert by_header(res)["X-Frame-Options"]["present"] is False
