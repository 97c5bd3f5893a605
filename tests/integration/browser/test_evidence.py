"""A browser scan of the fake shop: what its vendors' scripts do at run time becomes exact evidence."""

from __future__ import annotations

import json
from typing import Any

from scanfleet.http import FetchLimits, SafeFetcher, client_ssl_context
from scanfleet.model import Evidence, Outcome, Status
from scanfleet.worker.browser import BrowserRuntime, browse
from scanfleet.worker.scan import scan_url
from tests.integration.browser.conftest import LIMITS, ONLY_127_0_0_1
from tests.integration.browser.sites import SHOP
from tests.support.internet import Internet

GTM = "https://www.googletagmanager.com/gtm.js?id=GTM-TEST1"
ANALYTICS = "https://www.google-analytics.com/analytics.js"


def of(outcome: Outcome, kind: str) -> list[dict[str, Any]]:
    return [row.details for row in outcome.evidence if row.kind == kind]


def pick(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return list(dict.fromkeys(tuple(_hashable(row[key]) for key in keys) for row in rows))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def test_the_scan_succeeds_on_the_final_page(shop: Outcome) -> None:
    assert (shop.status, shop.final_url, shop.http_status, shop.error_code) == (Status.SUCCEEDED, SHOP, 200, None)


def test_every_request_with_its_type_party_initiator_chain_and_vendor(shop: Outcome) -> None:
    requests = pick(
        of(shop, "request"),
        "host",
        "resource_type",
        "request_type",
        "party",
        "initiator_chain",
        "blocklisted",
        "vendor",
    )
    assert requests == [
        ("shop.test", "Document", "document", "first", (), False, None),
        ("www.googletagmanager.com", "Script", "script", "third", (SHOP,), True, "Google Tag Manager"),
        ("fp.metrics.test", "Script", "script", "third", (SHOP,), False, None),
        ("static.hotjar.com", "Script", "script", "third", (SHOP,), True, "Hotjar"),
        # Injected at run time by the tag manager: no tag in the served page names them.
        ("www.google-analytics.com", "Script", "script", "third", (GTM, SHOP), True, "Google Analytics"),
        ("www.facebook.com", "Image", "image", "third", (SHOP,), True, "Meta Pixel"),
        ("www.google-analytics.com", "Ping", "ping", "third", (ANALYTICS, GTM, SHOP), True, "Google Analytics"),
        ("shop.test", "Other", "other", "first", (), False, None),
        # The key logger's uploads (one per keystroke), then its hashed password.
        ("in.hotjar.com", "Fetch", "xmlhttprequest", "third", ("https://static.hotjar.com/keys.js", SHOP), True,
         "Hotjar"),
        ("in.hotjar.com", "Image", "image", "third", (), True, "Hotjar"),
    ]  # fmt: skip
    beacon = next(row for row in of(shop, "request") if row["resource_type"] == "Ping")
    assert (beacon["method"], beacon["status"], beacon["category"], beacon["blocked"]) == (
        "POST",
        204,
        "analytics",
        None,
    )


def test_every_cookie_in_the_jar_with_who_set_it_and_no_value(shop: Outcome) -> None:
    cookies = of(shop, "browser_cookie")
    assert [
        {key: value for key, value in cookie.items() if key not in ("expires", "lifetime_days")} for cookie in cookies
    ] == [
        {"name": "fr", "domain": "facebook.com", "host_only": False, "path": "/", "session": False, "secure": True,
         "http_only": False, "same_site": "None", "registrable_domain": "facebook.com", "party": "third",
         "set_by": "header", "setter": "https://www.facebook.com/tr?id=1234&ev=PageView"},
        {"name": "_ga", "domain": "shop.test", "host_only": True, "path": "/", "session": False, "secure": False,
         "http_only": False, "same_site": "Lax", "registrable_domain": "shop.test", "party": "first",
         "set_by": "script", "setter": ANALYTICS},
        {"name": "session", "domain": "shop.test", "host_only": True, "path": "/", "session": True, "secure": True,
         "http_only": True, "same_site": "Lax", "registrable_domain": "shop.test", "party": "first",
         "set_by": "header", "setter": SHOP},
    ]  # fmt: skip
    # Chrome caps lifetimes at 400 days: the two-year _ga cookie is stored for 400.
    assert [cookie["lifetime_days"] for cookie in cookies] == [90.0, 400.0, None]
    assert not any("GA1.1.42.42" in str(row.details) or "abc" in str(row.details.get("name")) for row in shop.evidence)


def test_storage_names_per_origin_never_values(shop: Outcome) -> None:
    assert pick(of(shop, "storage"), "origin", "area", "names", "party") == [
        ("https://shop.test", "indexed_db", ("ga-store",), "first"),
        ("https://shop.test", "local_storage", ("_ga_session",), "first"),
        ("https://shop.test", "session_storage", ("_ga_hit",), "first"),
    ]
    assert "s1" not in str(of(shop, "storage"))


def test_fingerprinting_with_the_calling_script(shop: Outcome) -> None:
    fp = "https://fp.metrics.test/fp.js"
    assert pick(of(shop, "fingerprinting"), "technique", "script", "party", "apis") == [
        ("audio", fp, "third", ("OfflineAudioContext.startRendering",)),
        ("canvas", fp, "third", ("HTMLCanvasElement.toDataURL",)),
        ("font_enumeration", fp, "third", ("CanvasRenderingContext2D.measureText",)),
        ("navigator_sweep", fp, "third", ("navigator and screen properties",)),
        ("webgl", fp, "third", ("WebGLRenderingContext.getParameter(UNMASKED_RENDERER_WEBGL)",)),
    ]
    [sweep] = [row for row in of(shop, "fingerprinting") if row["technique"] == "navigator_sweep"]
    assert len(sweep["properties"]) == 12 and "navigator.userAgent" in sweep["properties"]


def test_typed_canaries_found_encoded_and_hashed_at_the_key_logger(shop: Outcome) -> None:
    assert pick(of(shop, "key_logging"), "field", "field_kind", "host", "vendor", "encodings", "resource_types") == [
        ("#email", "email", "in.hotjar.com", "Hotjar", ("base64", "base64url"), ("Fetch",)),
        ("input[name=pw]", "password", "in.hotjar.com", "Hotjar", ("sha256",), ("Image",)),
    ]


def test_the_coverage_row_says_what_was_observed(shop: Outcome) -> None:
    [coverage] = of(shop, "coverage")
    assert shop.evidence[-1].kind == "coverage"
    keys = ("engine", "load_event", "limits_hit", "fields_typed", "connections_refused")
    assert {key: coverage[key] for key in keys} == {
        "engine": "browser", "load_event": True, "limits_hit": [], "fields_typed": 2, "connections_refused": 0,
    }  # fmt: skip
    assert coverage["cookie_policy"].startswith("third-party cookies allowed")
    assert coverage["requests"] == coverage["requests_listed"] == len(of(shop, "request"))
    assert coverage["settle_seconds"] == LIMITS.settle_seconds
    assert 0 < coverage["loaded_after_seconds"] <= coverage["observed_seconds"] <= coverage["total_seconds"]


def test_the_scan_keeps_a_screenshot_a_har_without_bodies_and_the_document(shop: Outcome) -> None:
    by_kind = {item.kind: item for item in shop.attachments}
    assert list(by_kind) == ["screenshot", "har", "document"]
    assert by_kind["screenshot"].content_type == "image/png"
    assert by_kind["screenshot"].data.startswith(b"\x89PNG\r\n\x1a\n")
    entries = json.loads(by_kind["har"].data)["log"]["entries"]
    assert {entry["request"]["url"] for entry in entries} == {row["url"] for row in of(shop, "request")}
    # The key logger's requests are there, but not what they carried: no request body is kept.
    assert any(entry["request"]["method"] == "POST" and "in.hotjar.com" in entry["request"]["url"] for entry in entries)
    assert all("postData" not in entry["request"] and entry["request"]["bodySize"] == -1 for entry in entries)
    assert by_kind["document"].content_type == "text/html" and by_kind["document"].data.lstrip().startswith(b"<")


def test_the_rendered_page_adds_to_the_static_analysis(shop: Outcome) -> None:
    hosts = [row["host"] for row in of(shop, "third_party")]
    assert hosts == ["fp.metrics.test", "static.hotjar.com", "www.google-analytics.com", "www.googletagmanager.com"]
    issues = {issue.code for issue in shop.issues}
    assert {"analytics_tracker_present", "tag_manager_present", "session_recorder_present"} <= issues


async def test_a_browser_scan_is_a_superset_of_an_http_scan(shop: Outcome, internet: Internet, ca_file: Any) -> None:
    limits = FetchLimits(total_seconds=10)
    async with SafeFetcher(limits, ONLY_127_0_0_1, client_ssl_context(ca_file), internet.resolve_map) as fetcher:
        http = await scan_url(fetcher, SHOP)
    assert http.status is Status.SUCCEEDED

    def keys(evidence: list[Evidence]) -> set[tuple[str, str]]:
        # Third parties gain tags and counts from the rendered page, so they compare by host; certificates by hop
        # (the browser reports the issuer's common name only).
        named = {"third_party": "host", "tls_certificate": "url"}
        return {(row.kind, row.details[named[row.kind]] if row.kind in named else row.title) for row in evidence}

    static = [row for row in http.evidence if row.kind != "coverage"]
    assert keys(static) <= keys(shop.evidence)
    assert {issue.code for issue in http.issues} <= {issue.code for issue in shop.issues}
    assert {domain.domain for domain in http.domains} < {domain.domain for domain in shop.domains}


async def test_consecutive_scans_share_no_state(runtime: BrowserRuntime, internet: Internet, shop: Outcome) -> None:
    before = len(internet.hits)
    again = await browse(runtime, SHOP, LIMITS)
    hits = internet.hits[before:]
    # The page and the pixel got no cookie back from the first scan, and nothing came from its cache.
    assert [(hit.host, hit.path) for hit in hits if "cookie" in hit.headers and hit.path != "/favicon.ico"] == []
    assert [hit.path for hit in hits if hit.host == "www.googletagmanager.com"] == ["/gtm.js?id=GTM-TEST1"]
    for kind in ("browser_cookie", "storage", "fingerprinting", "key_logging"):
        assert len(of(again, kind)) == len(of(shop, kind)), kind
