"""The consent, fingerprinting, key-logging and session-recording rules over evidence rows as the engines write
them: each issue names exactly the rows behind it, and an http scan never fires a browser-only rule."""

from datetime import UTC, datetime
from typing import Any

import httpx

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.model import Evidence, Issue, Severity
from scanfleet.worker.privacy import analyse
from scanfleet.worker.privacy.rules import RULES, evaluate
from tests.corpus.offline import fetch_result
from tests.corpus.pages import PAGES

PAGE = "https://shop.example.com/"
BROWSER_ONLY = {
    "trackers_before_consent",
    "consent_manager_missing",
    "canvas_fingerprinting",
    "device_fingerprinting",
    "key_logging",
    "session_recording_observed",
}


def row(kind: str, **details: Any) -> Evidence:
    return Evidence(kind, Severity.INFO, kind, details, PAGE)


def consent_manager(name: str | None = "OneTrust", urls: tuple[str, ...] = ()) -> Evidence:
    return row("consent_manager", name=name, detected_by=["host"], seen_in=["request"], urls=list(urls), globals=[])


def request(url: str, category: str | None, party: str = "third", blocked: str | None = None) -> Evidence:
    host = url.split("/")[2]
    domain = ".".join(host.split(".")[-2:])
    details = {"url": url, "host": host, "registrable_domain": domain, "party": party, "category": category}
    return row("request", **details, blocked=blocked)


def jar_cookie(name: str, domain: str, party: str, setter: str | None) -> Evidence:
    return row("browser_cookie", name=name, domain=domain, party=party, setter=setter)


def set_cookie(name: str, domain: str, third_party: bool) -> Evidence:
    """A cookie row of the page's Set-Cookie chain, as both engines record it."""
    attributes = {"set_by": PAGE, "secure": True, "http_only": True, "same_site": "Lax"}
    return row("cookie", name=name, domain=domain, third_party=third_party, **attributes)


def issues(evidence: list[Evidence]) -> dict[str, Issue]:
    return {issue.code: issue for issue in evaluate(evidence)}


OT = "https://cdn.cookielaw.org/scripttemplates/otSDKStub.js"
PIXEL = "https://www.facebook.com/tr?id=1"
ANALYTICS = "https://www.google-analytics.com/analytics.js"
PAGE_VIEW = [
    request(PAGE, None, party="first"),  # 0
    request(OT, None),  # 1: the consent manager's own script
    request("https://www.googletagmanager.com/gtm.js?id=GTM-1", "tag_manager"),  # 2: judged by what it loads
    request(ANALYTICS, "analytics"),  # 3
    request(PIXEL, "advertising", blocked="MissingAllowOriginHeader"),  # 4: sent, its answer refused
    request("https://fonts.gstatic.com/s/inter.woff2", "font"),  # 5
    request("https://px.ads.example.net/p.gif", "unclassified"),  # 6: blocklisted, vendor unknown
    request("https://cdn.cookielaw.org/consent/banner.json", "unclassified"),  # 7: the consent manager's, blocklisted
    jar_cookie("_ga", "shop.example.com", "first", ANALYTICS),  # 8: written by the analytics script
    jar_cookie("fr", "facebook.com", "third", PIXEL),  # 9
    jar_cookie("__cf_bm", "cookielaw.org", "third", OT),  # 10: the consent manager's own
    jar_cookie("sid", "shop.example.com", "first", PAGE),  # 11
]


def test_trackers_before_consent_names_the_manager_the_requests_and_their_cookies() -> None:
    evidence = [*PAGE_VIEW, consent_manager(urls=(OT,))]
    found = issues(evidence)
    issue = found["trackers_before_consent"]
    assert (issue.severity, issue.evidence) == (Severity.HIGH, (3, 4, 6, 8, 9, 12))
    assert "consent_manager_missing" not in found
    # A consent manager and nothing that tracks: nothing to report.
    quiet = [request(PAGE, None, party="first"), request(OT, None), consent_manager(urls=(OT,))]
    assert evaluate(quiet) == []


def test_third_party_cookies_before_consent_leave_out_the_managers_own() -> None:
    static_cookie = set_cookie("uid", "ads.example.net", third_party=True)
    first_party = set_cookie("sid", "shop.example.com", third_party=False)
    evidence = [*PAGE_VIEW, static_cookie, first_party, consent_manager(urls=(OT,))]
    issue = issues(evidence)["third_party_cookies_before_consent"]
    assert (issue.severity, issue.evidence) == (Severity.MEDIUM, (9, 12, 14))


def test_without_a_consent_manager_trackers_fire_consent_manager_missing_instead() -> None:
    found = issues(PAGE_VIEW)
    assert found["consent_manager_missing"].evidence == (3, 4, 6, 7)  # the banner's host is unknown without it
    assert found["consent_manager_missing"].severity is Severity.MEDIUM
    assert not {"trackers_before_consent", "third_party_cookies_before_consent"} & set(found)


def test_an_unnamed_manager_behind_the_iab_api_counts() -> None:
    evidence = [request(ANALYTICS, "analytics"), consent_manager(name=None)]
    assert issues(evidence)["trackers_before_consent"].evidence == (0, 1)


def test_fingerprinting_rules_split_canvas_from_the_rest() -> None:
    evidence = [row("fingerprinting", technique=technique) for technique in ("audio", "canvas", "webgl")]
    found = issues(evidence)
    assert (found["canvas_fingerprinting"].severity, found["canvas_fingerprinting"].evidence) == (Severity.HIGH, (1,))
    assert (found["device_fingerprinting"].severity, found["device_fingerprinting"].evidence) == (
        Severity.MEDIUM,
        (0, 2),
    )


def test_key_logging() -> None:
    evidence = [request(PAGE, None, party="first"), row("key_logging", field="#email", host="in.hotjar.com")]
    issue = issues(evidence)["key_logging"]
    assert (issue.severity, issue.evidence) == (Severity.HIGH, (1,))


def test_session_recording_by_vendor_request_or_third_party_behaviour() -> None:
    evidence = [
        request("https://static.hotjar.com/c/hotjar-1.js", "session_recording"),  # 0
        request("https://www.google-analytics.com/g/collect", "analytics"),  # 1
        row("session_recording", script="https://cdn.recorder.test/r.js", party="third"),  # 2
        row("session_recording", script="https://shop.example.com/app.js", party="first"),  # 3: the site's own bundle
    ]
    issue = issues(evidence)["session_recording_observed"]
    assert (issue.severity, issue.evidence) == (Severity.HIGH, (0, 2))


def test_browser_only_rules_are_marked_and_an_http_scan_never_fires_one() -> None:
    assert {rule.code for rule in RULES if rule.browser_only} == BROWSER_ONLY
    assert all(rule.engines == ("browser" if rule.browser_only else "http, browser") for rule in RULES)
    for page in PAGES:
        _, found = analyse(fetch_result(page, datetime.now(UTC)))
        assert not {issue.code for issue in found} & BROWSER_ONLY, page.name


def test_an_http_scan_of_a_consent_manager_with_a_third_party_cookie() -> None:
    hop = Hop(
        PAGE,
        200,
        httpx.Headers([("content-type", "text/html"), ("set-cookie", "uid=1; Domain=ads.example.net; Secure")]),
        None,
        0.0,
    )
    evidence, found = analyse(FetchResult([hop], f'<script src="{OT}"></script>'.encode()))
    codes = {issue.code for issue in found}
    assert "third_party_cookies_before_consent" in codes
    assert [evidence[i].kind for i in {i.code: i for i in found}["third_party_cookies_before_consent"].evidence] == [
        "cookie",
        "consent_manager",
    ]
