"""Reports as HTML: every value escaped, nothing that could load or link anywhere, the screenshot inline."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

from scanfleet.model import Job, Kind, Status
from scanfleet.reports import POLICY, run_report, scan_report
from scanfleet.reports.render import ScreenshotTooLarge, screenshot_uri

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
HOSTILE = (
    '"><img src="https://evil.test/x.png"><script src="https://evil.test/x.js"></script><a href="https://evil.test/">'
)
# The smallest PNG there is: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001"
    "e221bc330000000049454e44ae426082"
)


def job(kind: Kind = "privacy", engine: str = "browser", url: str = "https://shop.test/", **changes: Any) -> Job:
    values: dict[str, Any] = dict(
        id=uuid.uuid4(), created_at=NOW - timedelta(minutes=1), org_id=uuid.uuid4(), kind=kind, engine=engine,
        url=url if kind == "privacy" else None, spec={"name": "shop api", "steps": [{}]} if kind == "checks" else None,
        status=Status.SUCCEEDED, attempts=1, retries=0, started_at=NOW - timedelta(seconds=50),
        finished_at=NOW - timedelta(seconds=40), lease_until=None, final_url=url, http_status=200, error_code=None,
        error_message=None, last_error_code=None, last_error_message=None, summary=None, verdict=None,
        deleted_at=None,
    )  # fmt: skip
    return Job(**(values | changes))


def row(seq: int, kind: str, title: str, severity: str = "info", /, **details: Any) -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "severity": severity, "title": title, "details": details, "location": HOSTILE}


def hostile_scan() -> str:
    evidence = [
        row(0, "request", HOSTILE, url=f"https://shop.test/{HOSTILE}", host="shop.test", party="first",
            initiator={"url": None}),
        row(1, "request", "script", "medium", url="https://evil.test/x.js", host="evil.test", party="third",
            vendor=HOSTILE, resource_type="Script", initiator={"url": f"https://shop.test/{HOSTILE}"}),
        row(2, "browser_cookie", "cookie", "medium", name=HOSTILE, domain="evil.test", party="third", secure=True,
            lifetime_days=400, set_by="script", setter="https://evil.test/x.js"),
        row(3, "storage", "storage", origin="https://evil.test", area="local_storage", names=[HOSTILE], count=1,
            party="third"),
        row(4, "fingerprinting", HOSTILE, "medium", script="https://evil.test/x.js", apis=["toDataURL"]),
    ]  # fmt: skip
    issues = [
        {"seq": 0, "code": "canvas_fingerprinting", "severity": "high", "title": f"Canvas {HOSTILE}",
         "explanation": HOSTILE, "evidence": [4]},
        {"seq": 1, "code": "third_party_cookie", "severity": "medium", "title": "A third-party cookie",
         "explanation": "It follows visitors.", "evidence": [2, 99]},  # 99: no such row
    ]  # fmt: skip
    return scan_report(job(url=HOSTILE), evidence, issues, PNG, NOW)


def _text(node: HTMLParser | LexborNode, query: str) -> str:
    """The text of the first element in `node` that matches `query`, which must be there."""
    found = node.css_first(query)
    assert found is not None, query
    return found.text()


def test_target_text_is_escaped_everywhere_and_nothing_can_load_or_link() -> None:
    page = hostile_scan()
    tree = HTMLParser(page)
    assert tree.css("script") == [] and tree.css("a") == [] and tree.css("iframe") == [] and tree.css("link") == []
    assert [(img.attributes["src"] or "")[:22] for img in tree.css("img")] == ["data:image/png;base64,"]
    assert not re.search(r"\b(href|src|action|srcset|background)\s*=\s*[\"']?(https?:)?//", page)
    assert HOSTILE.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;") in page
    meta = tree.css_first('meta[http-equiv="Content-Security-Policy"]')
    assert meta is not None and meta.attributes["content"] == POLICY


def test_issues_by_severity_with_their_explanations_and_evidence() -> None:
    tree = HTMLParser(hostile_scan())
    titles = [node.text() for node in tree.css(".issue-title")]
    assert titles == [f"Canvas {HOSTILE}", "A third-party cookie"]  # high before medium
    evidence = [[_text(e, "b") for e in issue.css(".evidence")] for issue in tree.css("section.issue")]
    assert evidence == [[HOSTILE], ["cookie"]]  # the row that does not exist is left out
    assert "It follows visitors." in _text(tree, "body")


def test_the_browser_tables_hold_the_third_parties_cookies_storage_and_timeline() -> None:
    tree = HTMLParser(hostile_scan())

    def cells(table: str) -> list[list[str]]:
        return [[td.text(strip=True) for td in tr.css("td")] for tr in tree.css(f"#{table} tbody tr")]

    assert [r[:4] for r in cells("third-party-table")] == [["evil.test", HOSTILE, "—", "no"]]
    assert [r[:3] for r in cells("cookie-table")] == [[HOSTILE, "evil.test", "third"]]
    assert cells("cookie-table")[0][3] == "400 days"
    assert cells("storage-table")[0][:3] == ["https://evil.test", "local_storage", "1"]
    timeline = cells("timeline-table")
    assert [(r[0], r[-1]) for r in timeline] == [("1", "the page"), ("2", "#1")]


def test_the_screenshot_is_inline_when_it_is_an_image_and_left_out_otherwise() -> None:
    uri = screenshot_uri(PNG)
    assert uri is not None and uri.startswith("data:image/png;base64,iVBOR")
    assert screenshot_uri(b"\xff\xd8\xff\xe0rest") == "data:image/jpeg;base64,/9j/4HJlc3Q="
    assert screenshot_uri(b"<svg onload=alert(1)>") is None and screenshot_uri(None) is None
    page = scan_report(job(), [], [], b"<svg/>", NOW)
    assert HTMLParser(page).css("img") == [] and "No issues were found." in page


def test_a_screenshot_too_large_to_show_is_named_not_shown() -> None:
    for page in (
        scan_report(job(), [], [], ScreenshotTooLarge(9_000_000), NOW),
        run_report(job("checks"), [], ScreenshotTooLarge(9_000_000), NOW),
    ):
        tree = HTMLParser(page)
        assert tree.css("img") == []
        note = tree.css_first("#screenshot-too-large")
        assert note is not None and "9000000 bytes" in note.text() and "too large" in note.text()


def test_an_http_scan_says_what_it_could_not_see() -> None:
    coverage = row(0, "coverage", "coverage", not_observed=["fingerprinting (canvas, WebGL)"])
    cookie = row(1, "cookie", "cookie", name="sid", domain="shop.test", third_party=False, session=True,
                 set_by="https://shop.test/")  # fmt: skip
    tree = HTMLParser(scan_report(job(engine="http"), [coverage, cookie], [], None, NOW))
    assert [li.text() for li in tree.css("#not-seen + p + ul li")] == ["fingerprinting (canvas, WebGL)"]
    assert [td.text() for td in tree.css("#cookie-table td")][:4] == ["sid", "shop.test", "first", "session"]
    assert tree.css("#timeline-table") == []


def test_a_run_report_shows_each_step_with_its_assertions_and_no_secret_value() -> None:
    evidence = [
        row(0, "check_step", "log in: passed", index=0, kind="http", attempts=1, timings={"total": 12.5},
            response={"status": 200}, passed=True),
        row(1, "check_assertion", "status equals 200", step=0, index=0, type="status", expected=200, actual=200,
            passed=True, message="status equals 200"),
        row(2, "check_extract", "token from json: found", step=0, name="token", source="json", found=True,
            secret=True, value=None),
        row(3, "check_step", "items: failed (timeout)", "high", index=1, kind="http", attempts=2,
            error={"code": "timeout", "message": "no answer"}),
    ]  # fmt: skip
    page = run_report(job("checks", verdict="failed"), evidence, None, NOW)
    tree = HTMLParser(page)
    assert [n.text() for n in tree.css(".step-title")] == ["1. log in: passed", "2. items: failed (timeout)"]
    assert _text(tree, "#verdict") == "failed"
    assert [tr.css("td")[3].text() for tr in tree.css("#steps-table tbody tr")] == ["passed", "failed"]
    assert "2 steps, 1 passed." in page
    assert [td.text() for td in tree.css(".assertions td")][2:4] == ["200", "200"]
    assert "token from json: (secret)" in _text(tree, "body") and "timeout: no answer" in page


def test_an_issue_with_many_rows_shows_the_first_in_full_and_lists_the_rest_one_line_each() -> None:
    evidence = [row(n, "request", f"request {n}", url=f"https://t.test/{n}") for n in range(45)]
    issue = {"seq": 0, "code": "x", "severity": "medium", "title": "t", "explanation": "e", "evidence": list(range(45))}
    tree = HTMLParser(scan_report(job(), evidence, [issue], None, NOW))
    assert [_text(e, "b") for e in tree.css(".issue .evidence")] == ["request 0", "request 1", "request 2"]
    listed = [[td.text() for td in tr.css("td")][1:] for tr in tree.css(".more-evidence tbody tr")]
    assert listed == [[f"request {n}", f"https://t.test/{n}"] for n in range(3, 40)]
    assert "and 5 more" in _text(tree, ".issue")
