import httpx
import pytest

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.worker.privacy.document import parse_document, parse_html, resolve_url

PAGE = "https://www.example.com/shop/item"


def request_types(html: str) -> list[tuple[str, str, str]]:
    return [(r.tag, r.url.rsplit("/", 1)[-1], r.request_type) for r in parse_html(html, PAGE).references]


def test_request_types_by_tag() -> None:
    html = (
        '<script src="/a.js"></script><img src="/b.png"><iframe src="/c"></iframe>'
        '<video src="/d.mp4"><source src="/e.webm"></video><audio src="/f.mp3"></audio>'
        '<embed src="/g.swf"><object data="/h.swf"></object><form action="/i"></form>'
    )
    assert request_types(html) == [
        ("script", "a.js", "script"),
        ("img", "b.png", "image"),
        ("iframe", "c", "subdocument"),
        ("video", "d.mp4", "media"),
        ("source", "e.webm", "media"),
        ("audio", "f.mp3", "media"),
        ("embed", "g.swf", "object"),
        ("object", "h.swf", "object"),
        ("form", "i", "other"),
    ]


@pytest.mark.parametrize(
    ("link", "request_type"),
    [
        ('rel="stylesheet"', "stylesheet"),
        ('rel="Shortcut Icon"', "image"),
        ('rel="apple-touch-icon"', "image"),
        ('rel="preload" as="font"', "font"),
        ('rel="preload" as="style"', "stylesheet"),
        ('rel="preload" as="video"', "media"),
        ('rel="prefetch"', "other"),
        ('rel="modulepreload"', "script"),
        ('rel="preconnect"', "other"),
        ('rel="dns-prefetch"', "other"),
        ('rel="manifest"', "other"),
    ],
)
def test_link_request_type_from_rel_and_as(link: str, request_type: str) -> None:
    [reference] = parse_html(f'<link {link} href="https://cdn.test/x">', PAGE).references
    assert reference.request_type == request_type


def test_metadata_links_are_not_references() -> None:
    html = '<link rel="canonical" href="https://a.test/"><link rel="alternate" href="https://b.test/"><link href="/x">'
    assert parse_html(html, PAGE).references == []


def test_form_action_method_and_fields() -> None:
    html = (
        '<base href="https://static.example.com/assets/">'
        '<form method="POST" action="login"><input name="user"><input type="password" name="pw"></form>'
        "<form><input type=email></form>"
        '<form action=""><input name="user_email"><select name="s"></select><textarea></textarea></form>'
        '<form action="javascript:void(0)"><input type=password></form>'
        '<form action="mailto:a@b.test"></form>'
        '<form action="/s" method="get"><input name="q" autocomplete="email"><input type="hidden" name="t"></form>'
    )
    forms = parse_html(html, PAGE).forms
    assert [(f.action, f.method, f.sensitive_fields, f.inputs) for f in forms] == [
        ("https://static.example.com/assets/login", "post", ("password",), 2),
        (PAGE, "get", ("email",), 1),  # no action: the document URL, not the base URL
        (PAGE, "get", ("email",), 3),
        ("https://static.example.com/s", "get", ("email",), 2),
    ]


def test_anchor_text_includes_nested_text_and_labels() -> None:
    html = (
        '<a href="/p"> Privacy\n <b>Policy</b> </a><a href="/i" aria-label="Impressum"><svg></svg></a>'
        '<a href="javascript:open()" title="Privacy">?</a><a>no href</a>'
    )
    anchors = parse_html(html, PAGE).anchors
    assert [(a.href, a.text) for a in anchors] == [
        ("/p", "Privacy Policy"),
        ("/i", "Impressum"),
        ("javascript:open()", "? Privacy"),
    ]


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("privacy", "https://static.example.com/assets/privacy"),
        ("/privacy", "https://static.example.com/privacy"),
        ("//other.test/p", "https://other.test/p"),
        ("HTTP://Other.test/p", "HTTP://Other.test/p"),
        (" https://a.test/\tb ", "https://a.test/b"),
        ("javascript:void(0)", None),
        ("mailto:dpo@example.com", None),
        ("", None),
    ],
)
def test_resolve_url_against_the_base(href: str, url: str | None) -> None:
    document = parse_html('<base href="https://static.example.com/assets/">', PAGE)
    assert document.base_url == "https://static.example.com/assets/"
    assert resolve_url(href, document.base_url) == url


def test_only_executable_inline_scripts_are_kept() -> None:
    html = (
        "<script>a()</script><script type='module'>b()</script><script type='text/javascript; charset=utf-8'>c()"
        "</script><script type='application/ld+json'>{}</script><script type='text/plain' data-consent>d()"
        "</script><script src='/e.js'>ignored()</script>"
    )
    assert parse_html(html, PAGE).inline_scripts == ["a()", "b()", "c()"]


def page(body: bytes, content_type: str = "text/html") -> FetchResult:
    return FetchResult([Hop(PAGE, 200, httpx.Headers({"content-type": content_type}), None, 0.0)], body)


def test_parse_document_needs_an_html_body() -> None:
    assert parse_document(page(b"")) is None
    assert parse_document(page(b'{"a": "<img src=x>"}', "application/json")) is None
    document = parse_document(page(b'<img src="https://cdn.test/a.png">'))
    assert document is not None and document.https and document.site == "example.com"
    assert [r.url for r in document.references] == ["https://cdn.test/a.png"]
