import json
from pathlib import Path

import httpx

from scanfleet.http.fetch import FetchResult, Hop
from worker.privacy import analyse
from worker.privacy.rules import rules_markdown

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
        ["redirect", "redirect", "final_url", "cookie", "cookie"] + ["security_header"] * 6 + ["third_party"]
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
