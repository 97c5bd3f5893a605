"""The browser corpus's fake internet: one HTTP and one HTTPS server on 127.0.0.1 answering for every corpus
site and every vendor, reached through SCANFLEET_FETCH_RESOLVE, with a certificate of the test CA for all."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import trustme

from tests.corpus.browser_pages import PAGES
from tests.corpus.model import BrowserPage
from tests.support.internet import Internet
from tests.support.site import Page
from tests.support.vendors import VENDOR_HOSTS, serve_vendors

HOSTS = (*VENDOR_HOSTS, *(page.host for page in PAGES))


def serve(internet: Internet, page: BrowserPage) -> str:
    """Put the page and its site's own files on the fake internet; the URL a scan starts from."""
    for path, content_type, body in page.files:
        internet.add(f"https://{page.host}{path}", Page(200, [("Content-Type", content_type)], body.encode()))
    return internet.add(page.url, Page(200, page.response_headers(), page.body.encode()))


@contextlib.contextmanager
def corpus_internet(ca: trustme.CA, hosts: tuple[str, ...] = ()) -> Iterator[Internet]:
    """The fake internet with every corpus page and vendor on it; `hosts` are more it answers for."""
    with Internet(ca, (*HOSTS, *hosts)) as internet:
        serve_vendors(internet)
        for page in PAGES:
            serve(internet, page)
        yield internet
