from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from scanfleet.http.fetch import FetchResult, Hop, TlsInfo
from scanfleet.model import Evidence, Issue, Severity
from scanfleet.worker.privacy import analyse
from scanfleet.worker.privacy.rules import RULES, evaluate

SECURE_HEADERS = {
    "content-type": "text/html",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=()",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def final(
    url: str = "https://example.com/",
    headers: dict[str, str] | None = None,
    cookies: tuple[str, ...] = (),
    drop: tuple[str, ...] = (),
) -> Hop:
    merged = {k: v for k, v in {**SECURE_HEADERS, **(headers or {})}.items() if k not in drop}
    return Hop(url, 200, httpx.Headers([*merged.items(), *(("set-cookie", c) for c in cookies)]), None, 0.0)


def redirect(url: str, to: str, cookies: tuple[str, ...] = ()) -> Hop:
    return Hop(url, 301, httpx.Headers([("location", to), *(("set-cookie", c) for c in cookies)]), None, 0.0)


def run(*hops: Hop, body: str = "") -> tuple[list[Evidence], dict[str, Issue]]:
    evidence, issues = analyse(FetchResult(list(hops), body.encode()))
    return evidence, {issue.code: issue for issue in issues}


def triggering(evidence: list[Evidence], issue: Issue) -> list[Evidence]:
    return [evidence[i] for i in issue.evidence]


def test_well_configured_site_has_no_issues() -> None:
    _, issues = run(
        redirect("http://example.com/", "https://example.com/"),
        final(cookies=("sid=1; Secure; HttpOnly; SameSite=Lax",)),
        body='<script src="/app.js"></script><img src="https://img.example.com/a.png"><a href="/privacy">Privacy</a>',
    )
    assert issues == {}


def test_rule_codes_are_unique_and_documented() -> None:
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes))
    assert {
        "no_https",
        "http_not_redirected_to_https",
        "hsts_missing",
        "hsts_weak",
        "csp_missing",
        "x_content_type_options_missing",
        "clickjacking_unprotected",
        "referrer_policy_missing",
        "cookie_without_secure",
        "cookie_without_httponly",
        "cookie_samesite_none_insecure",
        "third_party_cookie",
        "third_party_scripts",
        "third_party_content",
    } <= set(codes)


def test_http_only_site() -> None:
    evidence, issues = run(final("http://example.com/", drop=("strict-transport-security",)))
    assert issues["no_https"].severity is Severity.HIGH
    assert [e.kind for e in triggering(evidence, issues["no_https"])] == ["final_url"]
    redirect_issue = issues["http_not_redirected_to_https"]
    assert redirect_issue.severity is Severity.MEDIUM
    assert [e.kind for e in triggering(evidence, redirect_issue)] == ["redirect", "final_url"]
    assert "hsts_missing" not in issues  # HSTS cannot apply over http


def test_https_reached_from_http_is_not_flagged() -> None:
    _, issues = run(redirect("http://example.com/", "https://example.com/"), final())
    assert "no_https" not in issues and "http_not_redirected_to_https" not in issues


def test_https_start_downgraded_to_http() -> None:
    _, issues = run(redirect("https://example.com/", "http://example.com/"), final("http://example.com/"))
    assert "no_https" in issues
    assert "http_not_redirected_to_https" not in issues  # the scan did not start on http


def test_http_start_bouncing_through_https_back_to_http() -> None:
    _, issues = run(
        redirect("http://example.com/", "https://example.com/"),
        redirect("https://example.com/", "http://www.example.com/"),
        final("http://www.example.com/"),
    )
    assert len(issues["http_not_redirected_to_https"].evidence) == 4  # 3 hops + final_url


@pytest.mark.parametrize(
    ("hsts", "code"),
    [
        (None, "hsts_missing"),
        ("includeSubDomains", "hsts_missing"),
        ("max-age=86400", "hsts_weak"),
        ("max-age=0", "hsts_weak"),
        ("max-age=15551999", "hsts_weak"),
    ],
)
def test_hsts_rules_fire(hsts: str | None, code: str) -> None:
    hop = (
        final(drop=("strict-transport-security",))
        if hsts is None
        else final(headers={"strict-transport-security": hsts})
    )
    evidence, issues = run(hop)
    assert set(issues) == {code}
    [row] = triggering(evidence, issues[code])
    assert row.details["header"] == "Strict-Transport-Security"


def test_hsts_at_threshold_is_fine() -> None:
    _, issues = run(final(headers={"strict-transport-security": "max-age=15552000"}))
    assert issues == {}


def test_csp_missing_and_empty() -> None:
    # X-Frame-Options still protects, so only csp_missing fires.
    assert set(run(final(drop=("content-security-policy",)))[1]) == {"csp_missing"}
    assert set(run(final(headers={"content-security-policy": " ; "}))[1]) == {"csp_missing"}


def test_x_content_type_options() -> None:
    assert set(run(final(drop=("x-content-type-options",)))[1]) == {"x_content_type_options_missing"}
    assert set(run(final(headers={"x-content-type-options": "yes"}))[1]) == {"x_content_type_options_missing"}


@pytest.mark.parametrize(
    ("xfo", "csp", "fires"),
    [
        (None, "default-src 'self'", True),
        ("ALLOW-FROM https://a.test", "default-src 'self'", True),
        (None, "frame-ancestors *", True),
        (None, "frame-ancestors https:", True),
        (None, "frame-ancestors 'self' https://partner.test", False),
        (None, "default-src 'self', frame-ancestors 'none'", False),  # second policy protects
        ("SAMEORIGIN", "default-src 'self'", False),
    ],
)
def test_clickjacking(xfo: str | None, csp: str, fires: bool) -> None:
    headers = {"content-security-policy": csp} | ({"x-frame-options": xfo} if xfo else {})
    evidence, issues = run(final(headers=headers, drop=() if xfo else ("x-frame-options",)))
    assert ("clickjacking_unprotected" in issues) is fires
    if fires:
        headers_seen = [e.details["header"] for e in triggering(evidence, issues["clickjacking_unprotected"])]
        assert headers_seen == ["X-Frame-Options", "Content-Security-Policy"]


def test_referrer_policy() -> None:
    assert set(run(final(drop=("referrer-policy",)))[1]) == {"referrer_policy_missing"}
    assert set(run(final(headers={"referrer-policy": "nonsense"}))[1]) == {"referrer_policy_missing"}
    assert "referrer_policy_missing" not in run(final(headers={"referrer-policy": "no-referrer"}))[1]


def test_cookie_rules() -> None:
    evidence, issues = run(
        redirect("http://example.com/", "https://example.com/", cookies=("plain=1; HttpOnly",)),
        final(
            cookies=(
                "good=1; Secure; HttpOnly",
                "nosecure=1; HttpOnly",
                "script=1; Secure",
                "broken=1; HttpOnly; SameSite=None",
                "ok_none=1; Secure; HttpOnly; SameSite=None",
                "ads=1; Secure; HttpOnly; Domain=ads.net",
            )
        ),
    )

    def names(code: str) -> list[str]:
        return [e.details["name"] for e in triggering(evidence, issues[code])]

    # "plain" was set over http, where Secure cannot be set: not faulted for it.
    assert names("cookie_without_secure") == ["nosecure", "broken"]
    assert names("cookie_without_httponly") == ["script"]
    assert names("cookie_samesite_none_insecure") == ["broken"]
    assert names("third_party_cookie") == ["ads"]
    assert all(
        e.kind == "cookie" for code in issues if code.startswith("cookie") for e in triggering(evidence, issues[code])
    )


def test_no_cookie_issues_without_cookies() -> None:
    _, issues = run(final())
    assert not any(code.startswith("cookie") or code == "third_party_cookie" for code in issues)


def test_third_party_rules() -> None:
    body = (
        '<script src="https://cdn.analytics.test/a.js"></script><img src="https://cdn.analytics.test/p.gif">'
        '<img src="https://images.test/a.png"><link rel="stylesheet" href="https://css.test/s.css">'
    )
    evidence, issues = run(final(), body=body)
    assert issues["third_party_scripts"].severity is Severity.MEDIUM
    assert [e.details["host"] for e in triggering(evidence, issues["third_party_scripts"])] == ["cdn.analytics.test"]
    assert issues["third_party_content"].severity is Severity.INFO
    assert [e.details["host"] for e in triggering(evidence, issues["third_party_content"])] == [
        "css.test",
        "images.test",
    ]


def test_third_party_rules_do_not_fire_for_first_party_only() -> None:
    _, issues = run(final(), body='<script src="https://static.example.com/a.js"></script>')
    assert "third_party_scripts" not in issues and "third_party_content" not in issues


def test_evaluate_on_empty_evidence() -> None:
    assert evaluate([]) == []


POLICY_LINK = '<a href="/privacy">Privacy</a>'
SENSITIVE = {"sensitive_form_over_http"}
PLAIN = {"form_posts_over_http"}


def codes_for(body: str, url: str = "https://example.com/") -> set[str]:
    """Issue codes for a page with a policy link, less those an http:// page always has."""
    return set(run(final(url), body=body + POLICY_LINK)[1]) - {"no_https", "http_not_redirected_to_https"}


@pytest.mark.parametrize(
    ("days", "codes"),
    [
        (-2, {"tls_certificate_expiring_soon"}),
        (13, {"tls_certificate_expiring_soon"}),
        (14, {"tls_certificate_expiring"}),
        (29, {"tls_certificate_expiring"}),
        (30, set()),
    ],
)
def test_tls_expiry_rules(days: int, codes: set[str]) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    certificate = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", {}, {}, [], None, now + timedelta(days=days, hours=1))
    evidence, issues = analyse(FetchResult([replace(final(), tls=certificate)], b""), now)
    assert {i.code for i in issues} == codes
    for issue in issues:
        assert [e.kind for e in triggering(evidence, issue)] == ["tls_certificate"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("<script>fbq('init', '1234567');</script>", "advertising_tracker_present"),
        ('<script src="https://www.clarity.ms/tag/abc"></script>', "session_recorder_present"),
        ("<script>_paq.push(['setSiteId', '1']);</script>", "analytics_tracker_present"),
        ("<script>var id = 'GTM-ABC123';</script>", "tag_manager_present"),
        ('<img src="https://px.ads.example.net/pixel.gif?u=1">', "tracker_present"),
        ('<script src="https://platform.twitter.com/widgets.js"></script>', "tracker_present"),
    ],
)
def test_tracker_rules_by_category(body: str, code: str) -> None:
    evidence, issues = run(final(), body=body + POLICY_LINK)
    tracker_codes = {c for c in issues if c.endswith("_present")}
    assert tracker_codes == {code}
    assert all(e.kind == "tracker" for e in triggering(evidence, issues[code]))


def test_no_tracker_rules_for_plain_third_parties() -> None:
    body = '<script src="https://cdn.example.org/lib.js"></script><img src="https://images.example.org/a.png">'
    assert codes_for(body) == {"third_party_scripts", "third_party_content"}


@pytest.mark.parametrize(
    ("url", "form", "codes"),
    [
        ("https://example.com/", '<form action="http://x.test/l"><input type=password></form>', SENSITIVE),
        ("https://example.com/", '<form action="http://x.test/n"><input type=email></form>', SENSITIVE),
        ("https://example.com/", '<form action="http://x.test/s"><input name=q></form>', PLAIN),
        ("http://example.com/", "<form><input type=password></form>", SENSITIVE),
        ("https://example.com/", "<form><input type=password></form>", set()),
        ("https://example.com/", '<form action="https://x.test/s"><input name=q></form>', set()),
    ],
)
def test_form_rules(url: str, form: str, codes: set[str]) -> None:
    assert codes_for(form, url) - {"third_party_content"} == codes


def test_mixed_content_rules() -> None:
    assert codes_for('<script src="http://cdn.example.com/a.js"></script>') == {"mixed_content_active"}
    assert codes_for('<iframe src="http://example.com/f"></iframe>') == {"mixed_content_active"}
    assert codes_for('<img src="http://example.com/a.png">') == {"mixed_content_passive"}
    assert codes_for('<img src="https://example.com/a.png"><link rel=preconnect href="http://example.com">') == set()
    # The same references on an http page are not mixed content.
    http_codes = codes_for('<script src="http://example.com/a.js"></script>', "http://example.com/")
    assert not {"mixed_content_active", "mixed_content_passive"} & http_codes


def test_font_and_cdn_rules() -> None:
    fonts = codes_for('<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter">')
    assert fonts == {"third_party_fonts", "third_party_content"}
    cdn = codes_for('<script src="https://cdn.jsdelivr.net/npm/lib@1/x.js"></script>')
    assert cdn == {"public_cdn_resources", "third_party_scripts"}


def test_privacy_policy_missing() -> None:
    evidence, issues = run(final(), body="<p>No links here</p>")
    assert set(issues) == {"privacy_policy_missing"}
    assert [e.kind for e in triggering(evidence, issues["privacy_policy_missing"])] == ["privacy_policy"]
    assert run(final(), body=POLICY_LINK)[1] == {}
    # Nothing to judge without an HTML body.
    assert run(final(headers={"content-type": "application/json"}), body="{}")[1] == {}


def test_new_rule_codes_are_in_the_table() -> None:
    assert {
        "tls_certificate_expiring_soon",
        "tls_certificate_expiring",
        "advertising_tracker_present",
        "session_recorder_present",
        "analytics_tracker_present",
        "tag_manager_present",
        "tracker_present",
        "sensitive_form_over_http",
        "form_posts_over_http",
        "mixed_content_active",
        "mixed_content_passive",
        "third_party_fonts",
        "public_cdn_resources",
        "privacy_policy_missing",
    } <= {rule.code for rule in RULES}
