"""Consent managers in a real browser on the fake internet: a OneTrust-like banner with the IAB APIs and a Meta
pixel that does not wait for it, an unnamed TCF stub with analytics and a session recorder, and the shop with
no banner at all. Every row and issue is exact, and the banner is never clicked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanfleet.http import FetchLimits, SafeFetcher, client_ssl_context
from scanfleet.model import Evidence, Outcome, Status
from scanfleet.worker.browser import BrowserRuntime, browse
from scanfleet.worker.privacy.rules import RULES
from scanfleet.worker.scan import scan_url
from tests.integration.browser.conftest import LIMITS, ONLY_127_0_0_1
from tests.integration.browser.sites import CONSENT, NEWS
from tests.support.internet import Internet
from tests.support.vendors import OT_STUB

FBEVENTS = "https://connect.facebook.net/en_US/fbevents.js"
PIXEL = "https://www.facebook.com/tr?id=1234567890123456&ev=PageView"
ANALYTICS = "https://www.google-analytics.com/analytics.js"
BEACON = "https://www.google-analytics.com/g/collect?v=2&tid=G-TEST"
HEADERS = {"hsts_missing", "csp_missing", "x_content_type_options_missing", "clickjacking_unprotected"} | {
    "referrer_policy_missing"
}  # the fake internet's pages send no security headers


@pytest.fixture(scope="module")
async def consent(runtime: BrowserRuntime) -> Outcome:
    return await browse(runtime, CONSENT, LIMITS)


@pytest.fixture(scope="module")
async def news(runtime: BrowserRuntime) -> Outcome:
    return await browse(runtime, NEWS, LIMITS)


def of(outcome: Outcome, kind: str) -> list[dict[str, Any]]:
    return [row.details for row in outcome.evidence if row.kind == kind]


_NAMED_BY = {
    "request": "url",
    "browser_cookie": "name",
    "cookie": "name",
    "consent_manager": "name",
    "session_recording": "script",
    "fingerprinting": "technique",
    "key_logging": "field",
}


def named(row: Evidence) -> tuple[str, Any]:
    return row.kind, row.details[_NAMED_BY[row.kind]]


def behind(outcome: Outcome, code: str) -> list[tuple[str, Any]]:
    """The rows an issue points at, each by kind and name."""
    [issue] = [issue for issue in outcome.issues if issue.code == code]
    return [named(outcome.evidence[index]) for index in issue.evidence]


def codes(outcome: Outcome) -> set[str]:
    return {issue.code for issue in outcome.issues}


def test_the_consent_manager_by_host_globals_and_both_iab_apis(consent: Outcome) -> None:
    assert consent.status is Status.SUCCEEDED
    assert of(consent, "consent_manager") == [
        {
            "name": "OneTrust",
            "detected_by": ["cmp_id", "global", "host"],
            "seen_in": ["request", "tag"],
            "urls": [OT_STUB],
            "globals": ["OneTrust", "Optanon"],
            "tcf_api": True,
            "gpp_api": True,
            # What ping answered, the fields named; the consent strings it also carried are not kept.
            "tcf": {"cmp_id": 28, "cmp_status": "loaded", "display_status": "visible", "gdpr_applies": True},
            "gpp": {"cmp_id": 28, "cmp_status": "loaded", "display_status": "visible", "signal_status": "not ready"},
        }
    ]
    assert "never-stored" not in str([row.details for row in consent.evidence])


def test_the_pixel_snippets_loader_is_named_inline_and_seen_loading(consent: Outcome) -> None:
    assert of(consent, "inline_reference") == [
        {
            "host": "connect.facebook.net",
            "registrable_domain": "facebook.net",
            "written_as": ["url"],
            "count": 1,
            "urls": [FBEVENTS],
            "category": None,
        }
    ]
    # The rendered page holds the <script src> the snippet wrote: a network tracker row, so no inline_reference one.
    # The pixel image the script requests, only a browser sees: a tracker row observed at run time.
    trackers = [
        (row["source"], row["observed"], row["vendor"], row["host"], row["ids"], row["request"])
        for row in of(consent, "tracker")
    ]
    assert trackers == [
        ("network", "document", "Meta Pixel", "connect.facebook.net", [], None),
        ("inline", "document", "Meta Pixel", None, ["1234567890123456"], None),
        ("network", "request", "Meta Pixel", "www.facebook.com", [], PIXEL),
    ]


def test_trackers_and_third_party_cookies_before_consent(consent: Outcome) -> None:
    requests = sorted(
        (row["url"], row["resource_type"], row["party"], row["vendor"], row["category"])
        for row in of(consent, "request")
    )
    assert requests == [
        ("https://cdn.cookielaw.org/scripttemplates/otSDKStub.js", "Script", "third", None, None),
        (FBEVENTS, "Script", "third", "Meta Pixel", "advertising"),
        ("https://consent.test/", "Document", "first", None, None),
        ("https://consent.test/favicon.ico", "Other", "first", None, None),
        (PIXEL, "Image", "third", "Meta Pixel", "advertising"),
    ]
    cookies = [
        (row["name"], row["domain"], row["party"], row["set_by"], row["setter"])
        for row in of(consent, "browser_cookie")
    ]
    assert cookies == [
        ("__cf_bm", "cookielaw.org", "third", "header", OT_STUB),
        ("fr", "facebook.com", "third", "header", PIXEL),
    ]
    assert codes(consent) == HEADERS | {
        "third_party_scripts",
        "advertising_tracker_present",
        "trackers_before_consent",
        "third_party_cookies_before_consent",
    }
    assert behind(consent, "trackers_before_consent") == [
        ("consent_manager", "OneTrust"),
        ("request", FBEVENTS),
        ("request", PIXEL),
        ("browser_cookie", "fr"),
    ]
    # The consent manager's own CDN cookie is not held against it.
    assert behind(consent, "third_party_cookies_before_consent") == [
        ("consent_manager", "OneTrust"),
        ("browser_cookie", "fr"),
    ]


def test_the_banner_is_never_clicked(consent: Outcome, internet: Internet) -> None:
    assert [hit.path for hit in internet.hits_to("cdn.cookielaw.org")].count("/consent?accepted=1") == 0
    [coverage] = of(consent, "coverage")
    assert coverage["consent_interaction"] == "none"
    assert coverage["fields_typed"] == 0
    assert "before any interaction with a banner" in " ".join(coverage["not_observed"])


async def test_an_http_scan_sees_the_manager_and_the_loader_but_not_what_ran(internet: Internet, ca_file: Path) -> None:
    limits = FetchLimits(total_seconds=10)
    async with SafeFetcher(limits, ONLY_127_0_0_1, client_ssl_context(ca_file), internet.resolve_map) as fetcher:
        http = await scan_url(fetcher, CONSENT)
    assert of(http, "consent_manager") == [
        {"name": "OneTrust", "detected_by": ["host"], "seen_in": ["tag"], "urls": [OT_STUB], "globals": [],
         "tcf_api": None, "gpp_api": None, "tcf": None, "gpp": None},
    ]  # fmt: skip
    assert [(row["source"], row["host"]) for row in of(http, "tracker")] == [
        ("inline_reference", "connect.facebook.net"),
        ("inline", None),
    ]
    assert [row["host"] for row in of(http, "inline_reference")] == ["connect.facebook.net"]
    assert codes(http) == HEADERS | {"third_party_scripts", "advertising_tracker_present"}


def test_an_unnamed_consent_manager_behind_the_tcf_api(news: Outcome) -> None:
    # A stub that queues every call and never answers; the element with id "Cookiebot" is not Cookiebot's global.
    assert of(news, "consent_manager") == [
        {"name": None, "detected_by": ["api"], "seen_in": [], "urls": [], "globals": [], "tcf_api": True,
         "gpp_api": False, "tcf": None, "gpp": None},
    ]  # fmt: skip
    assert behind(news, "trackers_before_consent") == [
        ("consent_manager", None),
        ("request", ANALYTICS),
        ("request", BEACON),
        ("browser_cookie", "_ga"),  # first-party, written by the analytics script
    ]
    assert "consent_manager_missing" not in codes(news)


def test_session_recorder_behaviour_by_script_and_party(news: Outcome) -> None:
    assert of(news, "session_recording") == [
        {"script": "https://cdn.recorder.test/record.js", "host": "cdn.recorder.test",
         "registrable_domain": "cdn.recorder.test", "party": "third", "vendor": None,
         "listeners": ["input", "mousemove"], "frame": NEWS},
        # The site's own bundle does the same: recorded as behaviour, not held against the page.
        {"script": "https://news.test/app.js", "host": "news.test", "registrable_domain": "news.test", "party": "first",
         "vendor": None, "listeners": ["input", "mousemove"], "frame": NEWS},
    ]  # fmt: skip
    assert behind(news, "session_recording_observed") == [("session_recording", "https://cdn.recorder.test/record.js")]
    assert codes(news) == HEADERS | {
        "third_party_scripts",
        "analytics_tracker_present",
        "trackers_before_consent",
        "session_recording_observed",
    }


def test_the_shop_tracks_with_no_consent_manager(shop: Outcome) -> None:
    assert of(shop, "consent_manager") == []
    missing = behind(shop, "consent_manager_missing")
    # The tag manager itself is left out; what it injected, the pixel and the key logger's uploads are in.
    assert {kind for kind, _ in missing} == {"request"}
    assert sorted({url.split("?")[0] for _, url in missing}) == [
        "https://in.hotjar.com/k",
        "https://in.hotjar.com/p",
        "https://static.hotjar.com/keys.js",
        "https://www.facebook.com/tr",
        ANALYTICS,
        "https://www.google-analytics.com/g/collect",
    ]
    assert behind(shop, "canvas_fingerprinting") == [("fingerprinting", "canvas")]
    assert behind(shop, "device_fingerprinting") == [
        ("fingerprinting", "audio"),
        ("fingerprinting", "font_enumeration"),
        ("fingerprinting", "navigator_sweep"),
        ("fingerprinting", "webgl"),
    ]
    assert behind(shop, "key_logging") == [("key_logging", "#email"), ("key_logging", "input[name=pw]")]
    recorded = behind(shop, "session_recording_observed")
    assert {url.split("/")[2] for _, url in recorded} == {"static.hotjar.com", "in.hotjar.com"}
    assert {"trackers_before_consent", "third_party_cookies_before_consent"} & codes(shop) == set()


def test_every_browser_only_rule_fires_on_a_fake_site(shop: Outcome, consent: Outcome, news: Outcome) -> None:
    fired = codes(shop) | codes(consent) | codes(news)
    assert {rule.code for rule in RULES if rule.browser_only} - fired == set()
    assert all(outcome.status is Status.SUCCEEDED for outcome in (shop, consent, news))
