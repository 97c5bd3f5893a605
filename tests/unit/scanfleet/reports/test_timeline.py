"""The request timeline: each request under the one that caused it, in the page's order."""

from __future__ import annotations

from typing import Any

from scanfleet.reports.timeline import MAX_DEPTH_SHOWN, timeline


def request(seq: int, url: str, initiator: str | None, **details: Any) -> dict[str, Any]:
    return {"seq": seq, "kind": "request", "details": {"url": url, "initiator": {"type": "x", "url": initiator},
                                                       "host": url.split("/")[2], **details}}  # fmt: skip


def test_requests_sit_under_what_loaded_them_in_the_order_the_page_made_them() -> None:
    rows = [
        request(0, "https://shop.test/", None, status=200),
        request(1, "https://gtm.test/gtm.js", "https://shop.test/"),
        request(2, "https://shop.test/app.js", "https://shop.test/"),
        request(3, "https://ga.test/a.js", "https://gtm.test/gtm.js"),
        {"seq": 4, "kind": "cookie", "details": {}},  # not a request: left out
        request(5, "https://ga.test/collect", "https://ga.test/a.js", blocked="blocklisted"),
        request(6, "https://inline.test/px", "https://shop.test/#inline"),  # an initiator never requested: on top
    ]
    shown = [(e.order, e.depth, e.host, e.loaded_by) for e in timeline(rows)]
    assert shown == [
        (1, 0, "shop.test", None),
        (2, 1, "gtm.test", 1),
        (4, 2, "ga.test", 2),
        (5, 3, "ga.test", 4),
        (3, 1, "shop.test", 1),
        (6, 0, "inline.test", None),
    ]
    assert [e.outcome for e in timeline(rows)][:4] == ["200", "", "", "blocked: blocklisted"]


def test_a_request_never_sits_under_itself_or_a_later_one() -> None:
    # A redirect back to itself, and a chain that names a request made after it: both end at the top, once each.
    rows = [request(0, "https://a.test/x", "https://a.test/x"), request(1, "https://b.test/", "https://c.test/"),
            request(2, "https://c.test/", "https://b.test/")]  # fmt: skip
    assert [(e.order, e.depth) for e in timeline(rows)] == [(1, 0), (2, 0), (3, 1)]


def test_a_chain_of_thousands_is_laid_out_without_recursion_and_indented_no_further_than_shown() -> None:
    rows = [request(0, "https://a.test/0", None)]
    rows += [request(n, f"https://a.test/{n}", f"https://a.test/{n - 1}") for n in range(1, 5000)]
    entries = timeline(rows)
    assert [e.depth for e in entries] == list(range(5000))
    assert max(e.indent for e in entries) == MAX_DEPTH_SHOWN
