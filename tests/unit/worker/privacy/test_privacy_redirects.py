import httpx

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.results import Severity
from worker.privacy.redirects import collect_redirects


def test_chain_rows_and_final_url() -> None:
    result = FetchResult(
        [
            Hop(
                "http://example.com/",
                301,
                httpx.Headers({"location": "https://example.com/"}),
                "192.0.2.1",
                0.1,
            ),
            Hop("https://example.com/", 302, httpx.Headers({"location": "/home?x=1"}), "192.0.2.1", 0.1),
            Hop("https://example.com/home?x=1", 200, httpx.Headers(), "192.0.2.2", 0.2),
        ],
        b"",
    )
    rows = collect_redirects(result)
    assert [r.kind for r in rows] == ["redirect", "redirect", "redirect", "final_url"]
    assert rows[1].details == {
        "index": 1,
        "url": "https://example.com/",
        "status": 302,
        "location": "https://example.com/home?x=1",  # resolved against the hop
        "address": "192.0.2.1",
    }
    assert rows[0].title == "301 → https://example.com/"
    assert rows[2].details["location"] is None
    assert rows[2].title == "200 https://example.com/home?x=1"
    assert rows[3].details == {"url": "https://example.com/home?x=1", "status": 200, "hops": 3, "https": True}
    assert rows[3].severity is Severity.INFO


def test_plain_http_final_is_high() -> None:
    [hop_row, final_row] = collect_redirects(FetchResult([Hop("http://e.test/", 200, httpx.Headers(), None, 0)], b""))
    assert hop_row.details["address"] is None
    assert final_row.details["https"] is False
    assert final_row.severity is Severity.HIGH
