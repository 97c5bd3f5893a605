import httpx
import pytest

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.worker.privacy import analyse
from scanfleet.worker.privacy.coverage import NOT_OBSERVED, collect_coverage
from scanfleet.worker.privacy.document import parse_document

URL = "https://example.com/"


def result(body: bytes, content_type: str, *, truncated: bool = False, status: int = 200) -> FetchResult:
    return FetchResult([Hop(URL, status, httpx.Headers({"content-type": content_type}), None, 0.0)], body, truncated)


@pytest.mark.parametrize(
    "fetched",
    [
        result(b"<html><script>x()</script><a href='/p'>p</a></html>", "text/html; charset=utf-8"),
        result(b'{"a": 1}', "application/json"),
        result(b"", "text/html"),
        result(b"<html>" + b"x" * 100, "text/html", truncated=True),
        result(b"", "text/html", status=302),  # a fetch that gave up on a redirect
    ],
    ids=["html", "json", "empty", "truncated", "redirect-only"],
)
def test_analyse_always_ends_with_one_coverage_row(fetched: FetchResult) -> None:
    evidence, _ = analyse(fetched)
    assert [row.kind for row in evidence].count("coverage") == 1
    assert evidence[-1].kind == "coverage"
    assert evidence[-1].details["not_observed"] == list(NOT_OBSERVED)
    assert evidence[-1].details["bytes"] == len(fetched.body)
    assert evidence[-1].details["truncated"] is fetched.truncated


def test_what_was_analysed() -> None:
    fetched = result(
        b"<html><script>x()</script><script src='/a.js'></script><form></form><a href='/p'>p</a></html>",
        "text/html; charset=utf-8",
        truncated=True,
    )
    row = collect_coverage(fetched, parse_document(fetched))
    details = {key: value for key, value in row.details.items() if key != "not_observed"}
    assert details == {
        "bytes": len(fetched.body),
        "truncated": True,
        "content_type": "text/html",
        "html_analysed": True,
        "references": 1,
        "inline_scripts": 1,
        "forms": 1,
        "links": 1,
    }


def test_non_html_is_not_analysed() -> None:
    fetched = result(b'{"a": 1}', "application/json")
    details = collect_coverage(fetched, parse_document(fetched)).details
    assert details["html_analysed"] is False and details["content_type"] == "application/json"
    assert details["references"] == details["forms"] == 0


def test_coverage_names_what_a_browserless_scan_cannot_see() -> None:
    text = " ".join(NOT_OBSERVED).lower()
    for topic in ("javascript", "localstorage", "fingerprinting", "runtime", "consent"):
        assert topic in text
