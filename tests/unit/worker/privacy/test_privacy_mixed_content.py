from scanfleet.model import Severity
from scanfleet.worker.privacy.document import parse_html
from scanfleet.worker.privacy.mixed_content import collect_mixed_content

HTML = (
    '<link rel="preconnect" href="http://cdn.test">'
    '<link rel="stylesheet" href="http://cdn.test/s.css">'
    '<link rel="preload" as="font" href="http://fonts.test/f.woff2">'
    '<link rel="icon" href="http://cdn.test/favicon.ico">'
    '<script src="http://cdn.test/a.js"></script><script src="http://cdn.test/a.js"></script>'
    '<iframe src="http://frames.test/f"></iframe><object data="http://plugins.test/o"></object>'
    '<img src="http://img.test/i.png"><audio src="http://media.test/a.mp3"></audio>'
    '<img src="https://img.test/secure.png"><form action="http://forms.test/f"></form>'
)


def test_active_and_passive_content_on_https() -> None:
    rows = collect_mixed_content(parse_html(HTML, "https://www.example.com/"))
    assert [(row.details["url"], row.details["mode"], row.severity) for row in rows] == [
        ("http://cdn.test/s.css", "active", Severity.HIGH),
        ("http://fonts.test/f.woff2", "active", Severity.HIGH),
        ("http://cdn.test/favicon.ico", "passive", Severity.LOW),
        ("http://cdn.test/a.js", "active", Severity.HIGH),  # listed once
        ("http://frames.test/f", "active", Severity.HIGH),
        ("http://plugins.test/o", "active", Severity.HIGH),
        ("http://img.test/i.png", "passive", Severity.LOW),
        ("http://media.test/a.mp3", "passive", Severity.LOW),
    ]
    assert rows[3].details == {
        "url": "http://cdn.test/a.js",
        "host": "cdn.test",
        "tag": "script",
        "request_type": "script",
        "mode": "active",
    }


def test_http_page_has_no_mixed_content() -> None:
    assert collect_mixed_content(parse_html(HTML, "http://www.example.com/")) == []


def test_no_document_no_rows() -> None:
    assert collect_mixed_content(None) == []
