import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from scanfleet.http.fetch import FetchResult, Hop, TlsInfo
from scanfleet.worker.privacy import EVIDENCE_KINDS, analyse
from scanfleet.worker.privacy.rules import rules_markdown

RULES_MD = Path(__file__).resolve().parents[4] / "worker" / "privacy" / "RULES.md"


def test_evidence_order_details_are_json_and_issue_indexes_valid() -> None:
    result = FetchResult(
        [
            Hop(
                "http://example.com/",
                301,
                httpx.Headers([("location", "https://example.com/"), ("set-cookie", "a=1")]),
                "192.0.2.1",
                0.1,
            ),
            Hop(
                "https://example.com/",
                200,
                httpx.Headers([("content-type", "text/html"), ("set-cookie", "b=2; Max-Age=60")]),
                "192.0.2.1",
                0.1,
            ),
        ],
        b'<script src="https://cdn.other.test/x.js"></script>',
    )
    evidence, issues = analyse(result)
    assert [e.kind for e in evidence] == (
        ["redirect", "redirect", "final_url", "https_redirect", "cookie", "cookie"]
        + ["security_header"] * 6
        + ["third_party", "privacy_policy", "coverage"]
    )
    for row in evidence:
        assert json.loads(json.dumps(row.details)) == row.details
    assert issues
    for issue in issues:
        assert issue.evidence
        assert all(0 <= index < len(evidence) for index in issue.evidence)


def test_failed_fetch_with_only_a_redirect_hop_and_no_body() -> None:
    # What the scan records when the fetch gives up mid-chain (e.g. too many redirects).
    hop = Hop("https://loop.test/", 302, httpx.Headers({"location": "/", "content-type": "text/html"}), None, 0.0)
    evidence, issues = analyse(FetchResult([hop], b""))
    assert [e.kind for e in evidence][:2] == ["redirect", "final_url"]
    assert not [e for e in evidence if e.kind == "third_party"]
    assert "hsts_missing" in {issue.code for issue in issues}


def test_rules_md_matches_the_rule_table() -> None:
    assert RULES_MD.read_text() == rules_markdown()


def test_every_kind_in_evidence_kinds_order() -> None:
    final = Hop(
        "https://example.com/",
        200,
        httpx.Headers([("content-type", "text/html"), ("set-cookie", "a=1")]),
        None,
        0.0,
        TlsInfo("TLSv1.3", None, {}, {}, [], None, datetime(2030, 1, 1, tzinfo=UTC)),
    )
    body = (
        '<script src="https://www.google-analytics.com/analytics.js"></script><img src="http://img.test/a.png">'
        '<form action="/f"></form><a href="/privacy">Privacy</a>'
        "<script>s.src = 'https://consent.cookiebot.com/uc.js';</script>"
    )
    start = Hop("http://example.com/", 301, httpx.Headers({"location": "https://example.com/"}), None, 0.0)
    evidence, _ = analyse(FetchResult([start, final], body.encode()), datetime(2029, 1, 1, tzinfo=UTC))
    kinds = [row.kind for row in evidence]
    assert set(kinds) == set(EVIDENCE_KINDS)
    assert kinds == sorted(kinds, key=EVIDENCE_KINDS.index)
    [certificate] = [row for row in evidence if row.kind == "tls_certificate"]
    assert certificate.details["days_left"] == 365  # dated by the `now` given, not the clock


def test_readme_rule_table_is_the_rule_table() -> None:
    readme = (RULES_MD.parents[2] / "README.md").read_text()
    documented = readme.split("<!-- rules -->\n", 1)[1].split("\n<!-- /rules -->", 1)[0]
    assert documented.strip() == rules_markdown().split("\n\n", 2)[2].strip()
