from typing import Any

import pytest

from scanfleet.model import Severity
from scanfleet.worker.privacy.document import parse_html
from scanfleet.worker.privacy.trackers import collect_trackers, is_blocklisted
from scanfleet.worker.privacy.vendors import VENDORS, Category, vendor_for

PAGE = "https://shop.example.com/"


@pytest.mark.parametrize(
    ("url", "request_type", "blocked"),
    [
        ("https://www.google-analytics.com/analytics.js", "script", True),
        ("https://connect.facebook.net/en_US/fbevents.js", "script", True),
        ("https://px.ads.example.net/pixel.gif?u=1", "image", True),
        ("https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js", "script", False),
        ("https://fonts.googleapis.com/css2?family=Inter", "stylesheet", False),
        ("https://images.example.org/cat.jpg", "image", False),
    ],
)
def test_blocklist_verdicts(url: str, request_type: str, blocked: bool) -> None:
    assert is_blocklisted(url, PAGE, request_type) is blocked


@pytest.mark.parametrize(
    ("host", "vendor"),
    [
        ("www.google-analytics.com", "Google Analytics"),
        ("static.hotjar.com", "Hotjar"),
        ("bat.bing.com", "Microsoft Advertising (Bing UET)"),
        ("www.bing.com", None),  # only the UET host is a tracker, not all of bing.com
        ("mc.yandex.ru", "Yandex Metrica"),
        ("yandex.ru", None),
        ("snap.licdn.com", "LinkedIn Insight Tag"),
        ("example.org", None),
    ],
)
def test_vendor_by_host_then_registrable_domain(host: str, vendor: str | None) -> None:
    found = vendor_for(host)
    assert (found.name if found else None) == vendor


def test_vendor_map_uses_known_categories_and_covers_the_named_vendors() -> None:
    assert {vendor.category for vendor in VENDORS.values()} <= set(Category) - {Category.UNCLASSIFIED}
    names = {vendor.name for vendor in VENDORS.values()}
    for expected in ("Google Analytics", "Meta Pixel", "Hotjar", "Microsoft Clarity", "FullStory", "TikTok Pixel"):
        assert expected in names


def trackers(html: str, url: str = PAGE) -> dict[str, dict[str, Any]]:
    rows = collect_trackers(parse_html(html, url))
    return {row.details["host"] or row.details["vendor"]: row.details for row in rows}


def test_network_rows_need_a_blocklist_match_or_a_known_vendor() -> None:
    html = (
        '<script src="https://www.google-analytics.com/analytics.js"></script>'  # vendor and list
        '<script src="https://js.hs-scripts.com/1.js"></script>'  # vendor, not on the list
        '<img src="https://px.ads.example.net/pixel.gif?u=1">'  # list only
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js"></script>'  # neither
        '<script src="https://static.example.com/analytics.js"></script>'  # same site: never a tracker row
    )
    rows = trackers(html)
    assert list(rows) == ["js.hs-scripts.com", "px.ads.example.net", "www.google-analytics.com"]
    assert rows["www.google-analytics.com"] == {
        "source": "network",
        "observed": "document",
        "request": None,
        "vendor": "Google Analytics",
        "category": "analytics",
        "host": "www.google-analytics.com",
        "registrable_domain": "google-analytics.com",
        "urls": ["https://www.google-analytics.com/analytics.js"],
        "request_types": ["script"],
        "matched": True,
        "ids": [],
    }
    assert rows["js.hs-scripts.com"]["matched"] is False and rows["js.hs-scripts.com"]["category"] == "marketing"
    assert rows["px.ads.example.net"]["vendor"] is None and rows["px.ads.example.net"]["category"] == "unclassified"


def test_inline_rows_share_the_network_rows_keys() -> None:
    html = "<script>fbq('init', '1234567'); h._hjSettings={hjid:99999,hjsv:6};</script>" + (
        '<script src="https://www.google-analytics.com/analytics.js"></script>'
    )
    rows = collect_trackers(parse_html(html, PAGE))
    assert [(row.details["source"], row.details["vendor"]) for row in rows] == [
        ("network", "Google Analytics"),
        ("inline", "Meta Pixel"),
        ("inline", "Hotjar"),
    ]
    assert len({frozenset(row.details) for row in rows}) == 1
    meta = rows[1].details
    assert meta["ids"] == ["1234567"] and meta["matched"] is None and meta["host"] is None and meta["urls"] == []


def test_severity_by_category() -> None:
    html = (
        "<script>fbq('init', '1234567'); h._hjSettings={hjid:99999};</script>"
        '<script src="https://www.google-analytics.com/analytics.js"></script>'
        '<script src="https://platform.twitter.com/widgets.js"></script>'
    )
    severities = {row.details["category"]: row.severity for row in collect_trackers(parse_html(html, PAGE))}
    assert severities == {
        "advertising": Severity.HIGH,
        "session_recording": Severity.HIGH,
        "analytics": Severity.MEDIUM,
        "social": Severity.MEDIUM,
    }


def test_urls_capped_and_request_types_collected() -> None:
    html = "".join(f'<img src="https://www.facebook.com/tr?id=1&n={n}">' for n in range(7))
    html += '<iframe src="https://www.facebook.com/plugins/like.php"></iframe>'
    row = trackers(html)["www.facebook.com"]
    assert len(row["urls"]) == 5 and row["request_types"] == ["image", "subdocument"]


def test_no_document_no_rows() -> None:
    assert collect_trackers(None) == []


def test_inline_rows_are_indexed_under_the_vendors_own_domain() -> None:
    from scanfleet.worker.scan import domains_seen

    rows = collect_trackers(parse_html("<script>fbq('init', '1234567'); h._hjSettings={hjid:99999};</script>", PAGE))
    assert [row.details["registrable_domain"] for row in rows] == ["facebook.net", "hotjar.com"]
    seen = domains_seen(rows)
    assert [(d.domain, d.tracker, d.vendor) for d in seen] == [
        ("facebook.net", True, "Meta Pixel"),
        ("hotjar.com", True, "Hotjar"),
    ]
