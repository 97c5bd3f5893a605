from typing import Any

import httpx

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import parse_document, parse_html
from scanfleet.worker.privacy.third_parties import collect_third_parties

PAGE = "https://www.example.co.uk/shop/item"


def page(body: bytes | str, content_type: str = "text/html; charset=utf-8", url: str = PAGE) -> FetchResult:
    raw = body.encode() if isinstance(body, str) else body
    headers = httpx.Headers({"content-type": content_type} if content_type else {})
    return FetchResult([Hop(url, 200, headers, None, 0.0)], raw)


def third_parties(result: FetchResult) -> list[Evidence]:
    return collect_third_parties(parse_document(result))


def rows_by_host(result: FetchResult) -> dict[str, dict[str, Any]]:
    return {row.details["host"]: row.details for row in third_parties(result)}


def referenced_urls(html: str, page_url: str) -> list[tuple[str, str]]:
    return [(reference.tag, reference.url) for reference in parse_html(html, page_url).references]


SAMPLE = """<!doctype html><html><head>
<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=X">
<link rel="canonical" href="https://canonical.example.org/item">
<link rel="shortcut icon" href="//icons.cdn.net/fav.ico">
<link rel="preconnect" href="https://fonts.gstatic.com">
<script src="https://www.googletagmanager.com/gtag/js?id=G-1" async></script>
<script src="/static/app.js"></script>
<script src="https://static.example.co.uk/lib.js"></script>
<script>inline()</script>
</head><body>
<img src="https://pixel.tracker.net/p.gif?a=1">
<img src="https://pixel.tracker.net/p.gif?a=1">
<img src="https://pixel.tracker.net/p.gif?a=2">
<img src="data:image/png;base64,AAAA">
<a href="https://links-are-not-loads.test/">link</a>
<iframe src="https://www.youtube.com/embed/x"></iframe>
<form action="https://forms.saas.io/submit"></form>
<video src="https://media.cdn.net/v.mp4"><source src="https://media.cdn.net/v.webm"></video>
<audio src="javascript:alert(1)"></audio>
<embed src="mailto:x@y.z"><object data="https://objects.test/o.swf"></object>
<script src="https://www.googletagmanager.com/gtm.js"></script>
"""


def test_sample_page() -> None:
    rows = third_parties(page(SAMPLE))
    assert [r.details["host"] for r in rows] == [
        "fonts.googleapis.com",
        "fonts.gstatic.com",
        "forms.saas.io",
        "icons.cdn.net",
        "media.cdn.net",
        "objects.test",
        "pixel.tracker.net",
        "www.googletagmanager.com",
        "www.youtube.com",
    ]
    details = {r.details["host"]: r.details for r in rows}
    assert details["pixel.tracker.net"] == {
        "host": "pixel.tracker.net",
        "registrable_domain": "tracker.net",
        "tags": ["img"],
        "count": 3,
        "urls": ["https://pixel.tracker.net/p.gif?a=1", "https://pixel.tracker.net/p.gif?a=2"],
        "category": None,
    }
    assert details["fonts.googleapis.com"]["category"] == details["fonts.gstatic.com"]["category"] == "font"
    assert details["media.cdn.net"]["tags"] == ["source", "video"]
    assert details["icons.cdn.net"]["urls"] == ["https://icons.cdn.net/fav.ico"]  # protocol-relative
    assert details["www.googletagmanager.com"]["count"] == 2
    severities = {r.details["host"]: r.severity for r in rows}
    assert severities["www.googletagmanager.com"] is Severity.MEDIUM
    assert severities["www.youtube.com"] is Severity.INFO
    assert all(r.kind == "third_party" and r.location == PAGE for r in rows)


def test_relative_urls_resolve_against_the_page_and_base() -> None:
    refs = referenced_urls('<img src="a.png"><img src="../b.png"><img src="/c.png">', PAGE)
    assert refs == [
        ("img", "https://www.example.co.uk/shop/a.png"),
        ("img", "https://www.example.co.uk/b.png"),
        ("img", "https://www.example.co.uk/c.png"),
    ]
    with_base = (
        '<head><base href="https://cdn.other.net/assets/"><base href="https://ignored.test/"></head>'
        '<script src="app.js"></script><img src="/logo.png">'
    )
    assert referenced_urls(with_base, PAGE) == [
        ("script", "https://cdn.other.net/assets/app.js"),
        ("img", "https://cdn.other.net/logo.png"),
    ]
    assert list(rows_by_host(page(with_base))) == ["cdn.other.net"]


def test_relative_base_and_whitespace_in_urls() -> None:
    refs = referenced_urls('<base href="/static/"><img src="  x\n.png "><img src="https://a.test/\ty">', PAGE)
    assert refs == [("img", "https://www.example.co.uk/static/x.png"), ("img", "https://a.test/y")]


def test_unusable_base_falls_back_to_the_page_url() -> None:
    assert referenced_urls('<base href="javascript:void(0)"><img src="a.png">', PAGE) == [
        ("img", "https://www.example.co.uk/shop/a.png")
    ]


def test_same_site_subdomains_are_first_party() -> None:
    html = (
        '<script src="https://cdn.example.co.uk/a.js"></script><img src="https://example.co.uk/i.png">'
        '<img src="https://evil-example.co.uk/i.png">'
    )
    assert list(rows_by_host(page(html))) == ["evil-example.co.uk"]


def test_non_web_schemes_are_ignored() -> None:
    html = (
        '<img src="data:image/gif;base64,R0lGOD"><iframe src="about:blank"></iframe>'
        '<script src="blob:https://x.test/1"></script><img src="ftp://files.test/a"><img src="">'
        '<img src="http://[::1">'
    )
    assert referenced_urls(html, PAGE) == []


def test_malformed_html_still_yields_references() -> None:
    html = (
        "</div></p><table><tr><td><IMG SRC=https://a.test/1.png><td><p></span>"
        "<SCRIPT src=//b.test/x.js></SCRIPT><iframe src='https://c.test/f'></iframe>"
        '<img src="https://d.test/unterminated'  # a tag cut off at end of input is dropped, as in browsers
    )
    assert {host: row["tags"] for host, row in rows_by_host(page(html)).items()} == {
        "a.test": ["img"],
        "b.test": ["script"],
        "c.test": ["iframe"],
    }


def test_non_html_bodies_yield_nothing() -> None:
    assert third_parties(page(b'{"script": "<script src=https://a.test/x.js>"}', "application/json")) == []
    assert third_parties(page(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")) == []
    assert third_parties(page(b"", "text/html")) == []
    assert third_parties(page(b"", "")) == []


def test_html_without_content_type_is_sniffed() -> None:
    assert list(rows_by_host(page('<!DOCTYPE html><img src="https://a.test/i">', ""))) == ["a.test"]


def test_unknown_charset_does_not_crash() -> None:
    result = FetchResult(
        [Hop(PAGE, 200, httpx.Headers({"content-type": "text/html"}), None, 0.0)],
        b'<img src="https://a.test/i">',
        encoding="x-no-such-charset",
    )
    assert list(rows_by_host(result)) == ["a.test"]


def test_urls_are_capped_at_five_distinct() -> None:
    html = "".join(f'<img src="https://a.test/{n}.png">' for n in range(8))
    details = rows_by_host(page(html))["a.test"]
    assert details["count"] == 8
    assert details["urls"] == [f"https://a.test/{n}.png" for n in range(5)]


def test_ip_address_page() -> None:
    html = '<img src="http://192.0.2.1/a.png"><img src="http://192.0.2.2/b.png">'
    assert list(rows_by_host(page(html, url="http://192.0.2.1/"))) == ["192.0.2.2"]


def test_public_cdns_and_font_services_are_categorised() -> None:
    html = (
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/x/1/x.js"></script>'
        '<link rel="stylesheet" href="https://use.typekit.net/abc.css"><img src="https://images.test/a.png">'
    )
    categories = {host: row["category"] for host, row in rows_by_host(page(html)).items()}
    assert categories == {"cdnjs.cloudflare.com": "cdn", "use.typekit.net": "font", "images.test": None}
