import httpx
import pytest

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.model import Severity
from scanfleet.worker.privacy import analyse
from scanfleet.worker.privacy.document import parse_html
from scanfleet.worker.privacy.inline_references import collect_inline_references
from scanfleet.worker.privacy.script_hosts import MAX_URLS, NamedHost, hosts_in_scripts
from scanfleet.worker.privacy.trackers import collect_trackers
from scanfleet.worker.scan import domains_seen
from tests.corpus.pages import (
    CLARITY_SNIPPET,
    FULLSTORY_SNIPPET,
    GTM_SNIPPET,
    HOTJAR_SNIPPET,
    META_SNIPPET,
    QUANTCAST_CHOICE_SNIPPET,
)

PAGE = "https://shop.example.com/"


def named(html: str, url: str = PAGE) -> list[tuple[str, ...]]:
    """(host, URL, how written) for each host inline scripts name, with one way of writing it."""
    document = parse_html(html, url)
    return [(n.host, url, *n.written_as) for n in document.inline_third_parties.values() for url in n.urls]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (META_SNIPPET, [("connect.facebook.net", "https://connect.facebook.net/en_US/fbevents.js", "url")]),
        (HOTJAR_SNIPPET, [("static.hotjar.com", "https://static.hotjar.com/c/hotjar-", "url")]),
        (CLARITY_SNIPPET, [("www.clarity.ms", "https://www.clarity.ms/tag/", "url")]),
        (GTM_SNIPPET, [("www.googletagmanager.com", "https://www.googletagmanager.com/gtm.js?id=", "url")]),
        # FullStory's snippet names its hosts bare; its <script src> is a tag, not inline text.
        (
            FULLSTORY_SNIPPET,
            [
                ("fullstory.com", "https://fullstory.com/", "host"),
                ("edge.fullstory.com", "https://edge.fullstory.com/s/fs.js", "host"),
            ],
        ),
        (QUANTCAST_CHOICE_SNIPPET, [("cmp.quantcast.com", "https://cmp.quantcast.com/", "url")]),
    ],
    ids=["meta", "hotjar", "clarity", "gtm", "fullstory", "quantcast"],
)
def test_the_vendor_loaders_of_real_snippets(snippet: str, expected: list[tuple[str, str, str]]) -> None:
    assert named(snippet) == expected


def test_protocol_relative_urls_take_the_pages_scheme_and_keep_a_port() -> None:
    script = """s.src = "//cdn.Tracker.example:8443/t.js"; i.src = '//pixel.tracker.example';"""
    assert hosts_in_scripts([script], "http://shop.example.com/") == {
        "cdn.tracker.example": NamedHost(
            "cdn.tracker.example", ["http://cdn.tracker.example:8443/t.js"], {"protocol_relative"}, 1
        ),
        "pixel.tracker.example": NamedHost(
            "pixel.tracker.example", ["http://pixel.tracker.example/"], {"protocol_relative"}, 1
        ),
    }


def test_json_escaped_and_template_literal_urls() -> None:
    script = r"""var c = {"loader":"https:\/\/cdn.vendor.net\/v2\/l.js"}; x = `https://api.vendor.net/e?id=${id}`;"""
    assert [(n.host, *n.urls) for n in hosts_in_scripts([script], PAGE).values()] == [
        ("cdn.vendor.net", "https://cdn.vendor.net/v2/l.js"),
        ("api.vendor.net", "https://api.vendor.net/e?id="),
    ]


@pytest.mark.parametrize(
    "script",
    [
        "// see https://docs.vendor.example/setup for details",  # a comment, not a string
        "/*! lib v3 | (c) Example | https://lib.example.org/license */",
        "var name = 'app.js', path = 'user.name', version = '1.2.3', file = 'report.zip';",  # not hosts
        "var host = 'metrics-vendor.example';",  # a bare host nobody knows: a file name as much as a host
        "s.src = 'https://cdn.' + 'vendor.example' + '/t.js';",  # assembled from pieces: no whole host
        "var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');",  # a namespace name
        "var ld = {'@context': 'https://schema.org', '@type': 'Organization'};",
        "var u = `https://${host}/collect`;",
    ],
    ids=["comment", "licence", "file-names", "unknown-bare-host", "pieces", "svg-namespace", "json-ld", "template"],
)
def test_what_is_not_a_host_named_in_a_script(script: str) -> None:
    assert hosts_in_scripts([script], PAGE) == {}


def test_first_party_hosts_and_non_executable_scripts_are_left_out() -> None:
    html = (
        "<script>fetch('https://api.other.net/v1'); fetch('https://cdn.example.com/x.js');</script>"
        # What a consent manager holds back until the visitor agrees: data, not code, until then.
        '<script type="text/plain" data-cookieconsent="statistics">s.src="https://held.example.net/t.js"</script>'
        '<script type="application/ld+json">{"url": "https://ld.example.net/"}</script>'
    )
    assert named(html) == [("api.other.net", "https://api.other.net/v1", "url")]


def test_one_row_per_host_sorted_with_every_way_it_was_written() -> None:
    html = (
        "<script>a('https://cdn.vendor.net/a.js'); b('//cdn.vendor.net/b.js');"
        "c('https://cdn.vendor.net/a.js');</script>"
        "<script>d('https://api.another.net/e');</script>"
    )
    rows = collect_inline_references(parse_html(html, PAGE))
    assert [(row.kind, row.severity, row.title, row.location) for row in rows] == [
        ("inline_reference", Severity.INFO, "Inline script names api.another.net", PAGE),
        ("inline_reference", Severity.INFO, "Inline script names cdn.vendor.net", PAGE),
    ]
    assert rows[1].details == {
        "host": "cdn.vendor.net",
        "registrable_domain": "vendor.net",
        "written_as": ["protocol_relative", "url"],
        "count": 3,  # every time it is named; each URL once
        "urls": ["https://cdn.vendor.net/a.js", "https://cdn.vendor.net/b.js"],
        "category": None,
    }


def test_urls_per_host_are_capped_and_shared_services_keep_their_category() -> None:
    script = "".join(f"f('https://fonts.googleapis.com/css?family=F{index}');" for index in range(8))
    [row] = collect_inline_references(parse_html(f"<script>{script}</script>", PAGE))
    assert (row.details["count"], row.details["category"]) == (8, "font")
    assert row.details["urls"] == [f"https://fonts.googleapis.com/css?family=F{index}" for index in range(MAX_URLS)]


def test_no_document_no_rows() -> None:
    assert collect_inline_references(None) == []


def test_tracker_rows_for_named_hosts_no_tag_loads() -> None:
    html = (
        META_SNIPPET  # connect.facebook.net named inline; www.facebook.com also loaded by its <noscript> image
        + "<script>i.src = 'https://www.facebook.com/tr?id=1'; j.src = '//px.ads.example.net/pixel.gif?u=1';"
        "k.src = 'https://cdn.harmless.example/lib.js';</script>"
    )
    rows = collect_trackers(parse_html(html, PAGE))
    keys = ("source", "vendor", "category", "host", "registrable_domain", "urls", "request_types", "matched", "ids")
    assert [tuple(row.details[key] for key in keys) for row in rows] == [
        ("network", "Meta Pixel", "advertising", "www.facebook.com", "facebook.com",
         ["https://www.facebook.com/tr?id=1234567890123456&ev=PageView&noscript=1"], ["image"], True, []),
        ("inline_reference", "Meta Pixel", "advertising", "connect.facebook.net", "facebook.net",
         ["https://connect.facebook.net/en_US/fbevents.js"], ["script"], True, []),
        # Blocklisted, vendor unknown; cdn.harmless.example is neither, so it is no tracker.
        ("inline_reference", None, "unclassified", "px.ads.example.net", "example.net",
         ["https://px.ads.example.net/pixel.gif?u=1"], ["script"], True, []),
        ("inline", "Meta Pixel", "advertising", None, "facebook.net", [], [], None, ["1234567890123456"]),
    ]  # fmt: skip
    assert [(row.severity, row.title) for row in rows[1:3]] == [
        (Severity.HIGH, "Tracker (advertising): Meta Pixel at connect.facebook.net, named in an inline script"),
        (Severity.MEDIUM, "Tracker (unclassified): Blocklisted at px.ads.example.net, named in an inline script"),
    ]


def test_named_hosts_are_among_the_domains_a_scan_is_found_by() -> None:
    html = "<script>a('https://cdn.vendor.net/a.js'); s.src = 'https://static.hotjar.com/c/hotjar-';</script>"
    hop = Hop(PAGE, 200, httpx.Headers({"content-type": "text/html"}), None, 0.0)
    evidence, _ = analyse(FetchResult([hop], html.encode()))
    assert [(d.domain, d.tracker, d.vendor) for d in domains_seen(evidence)] == [
        ("hotjar.com", True, "Hotjar"),
        ("vendor.net", False, None),
    ]
