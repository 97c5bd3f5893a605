import httpx

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.model import Severity
from scanfleet.worker.privacy.redirects import collect_redirects


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
    assert [r.kind for r in rows] == ["redirect", "redirect", "redirect", "final_url", "https_redirect"]
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
    assert rows[4].details == {
        "start_url": "http://example.com/",
        "final_url": "https://example.com/home?x=1",
        "redirected_to_https": True,
        "https_hop": 1,
        "https_url": "https://example.com/",
    }
    assert rows[4].severity is Severity.INFO


def test_plain_http_final_is_high() -> None:
    [hop_row, final_row, upgrade] = collect_redirects(
        FetchResult([Hop("http://e.test/", 200, httpx.Headers(), None, 0)], b"")
    )
    assert hop_row.details["address"] is None
    assert final_row.details["https"] is False
    assert final_row.severity is Severity.HIGH
    assert upgrade.details["redirected_to_https"] is False and upgrade.details["https_hop"] is None
    assert upgrade.severity is Severity.MEDIUM


def hop(url: str, status: int = 301) -> Hop:
    return Hop(url, status, httpx.Headers(), None, 0)


def test_https_start_has_no_https_redirect_row() -> None:
    rows = collect_redirects(FetchResult([hop("https://e.test/", 200)], b""))
    assert "https_redirect" not in [r.kind for r in rows]


def test_bounce_through_https_back_to_http_is_not_an_upgrade() -> None:
    chain = [hop("http://e.test/"), hop("http://www.e.test/"), hop("https://www.e.test/"), hop("http://e.test/x", 200)]
    upgrade = collect_redirects(FetchResult(chain, b""))[-1]
    assert upgrade.kind == "https_redirect"
    assert upgrade.details["https_hop"] == 2
    assert upgrade.details["https_url"] == "https://www.e.test/"
    assert upgrade.details["redirected_to_https"] is False
