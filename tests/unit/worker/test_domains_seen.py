"""The domains a scan is found by (GET /v1/domains/{domain}/scans): a browser scan's include what it requested."""

from typing import Any

from scanfleet.model import Evidence, Severity
from scanfleet.worker.scan import domains_seen

PAGE = "https://shop.example/"


def request(host: str, domain: str, party: str, vendor: str | None, category: str | None) -> Evidence:
    details: dict[str, Any] = {
        "url": f"https://{host}/x", "host": host, "registrable_domain": domain, "party": party, "vendor": vendor,
        "category": category, "blocklisted": category == "unclassified",
    }  # fmt: skip
    return Evidence("request", Severity.INFO, f"request to {host}", details, PAGE)


def test_third_party_requests_count_and_a_vendor_or_blocklisted_one_is_a_tracker() -> None:
    evidence = [
        request("shop.example", "shop.example", "first", None, None),
        # Injected at run time by the tag manager: named by no tag or inline script.
        request("www.google-analytics.com", "google-analytics.com", "third", "Google Analytics", "analytics"),
        request("px.ads.example.net", "example.net", "third", None, "unclassified"),
        request("fonts.gstatic.com", "gstatic.com", "third", None, "font"),
        request("cdn.example.org", "example.org", "third", None, None),
    ]
    assert [(d.domain, d.tracker, d.vendor) for d in domains_seen(evidence)] == [
        ("example.net", True, None),
        ("example.org", False, None),
        ("google-analytics.com", True, "Google Analytics"),
        ("gstatic.com", False, None),
    ]


def test_a_request_adds_to_what_the_static_rows_say_of_the_same_domain() -> None:
    tag = Evidence("third_party", Severity.INFO, "t", {"host": "cdn.example.org", "registrable_domain": "example.org"})
    evidence = [tag, request("px.example.org", "example.org", "third", "Some Vendor", "advertising")]
    assert [(d.domain, d.tracker, d.vendor) for d in domains_seen(evidence)] == [("example.org", True, "Some Vendor")]


def test_first_party_and_other_kinds_of_rows_name_no_domain() -> None:
    cookie = Evidence("browser_cookie", Severity.INFO, "c", {"registrable_domain": "facebook.com", "party": "third"})
    evidence = [request("shop.example", "shop.example", "first", None, None), cookie]
    assert domains_seen(evidence) == []
