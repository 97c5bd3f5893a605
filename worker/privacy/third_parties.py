"""Evidence for third-party hosts the final HTML page makes the browser contact."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from scanfleet.http.fetch import FetchResult
from scanfleet.results import Evidence, Severity
from worker.privacy.domains import host_of, registrable_domain

# Which attribute of which element loads (or submits to) a URL.
_URL_ATTRIBUTES = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "link": "href",
    "form": "action",
    "source": "src",
    "video": "src",
    "audio": "src",
    "embed": "src",
    "object": "data",
}
_SELECTOR = ", ".join(f"{tag}[{attribute}]" for tag, attribute in _URL_ATTRIBUTES.items())

# <link> rels that make the browser fetch or connect; canonical, alternate and the like are only metadata.
_LOADING_RELS = frozenset(
    {
        "stylesheet",
        "preload",
        "modulepreload",
        "prefetch",
        "prerender",
        "preconnect",
        "dns-prefetch",
        "icon",
        "apple-touch-icon",
        "apple-touch-icon-precomposed",
        "mask-icon",
        "manifest",
    }
)
_URLS_PER_HOST = 5
# The HTML URL parser strips leading/trailing C0 controls and spaces and drops tabs and newlines inside.
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
_STRIPPED_INSIDE = str.maketrans("", "", "\t\n\r")


@dataclass
class _HostUse:
    tags: set[str] = field(default_factory=set)
    count: int = 0
    urls: list[str] = field(default_factory=list)


def referenced_urls(html: str, page_url: str) -> list[tuple[str, str]]:
    """(tag, absolute http(s) URL) for each loading reference, in document order, resolved like a browser."""
    tree = LexborHTMLParser(html)
    base_url = page_url
    base = tree.css_first("base[href]")  # only the first <base href> counts
    if base is not None:
        base_url = _resolve(base.attributes.get("href") or "", page_url) or page_url
    references: list[tuple[str, str]] = []
    for node in tree.css(_SELECTOR):
        tag = node.tag
        if tag == "link" and not _LOADING_RELS & set((node.attributes.get("rel") or "").lower().split()):
            continue
        url = _resolve(node.attributes.get(_URL_ATTRIBUTES[tag]) or "", base_url)
        if url is not None:
            references.append((tag, url))
    return references


def collect_third_parties(result: FetchResult) -> list[Evidence]:
    """One "third_party" row per host whose registrable domain differs from the final page's, sorted by host.

    Only HTML bodies are parsed. Severity: medium when the host serves a script (it runs with the
    page's full privileges), info otherwise.
    """
    if not result.is_html:
        return []
    page_url = result.final.url
    page_site = registrable_domain(host_of(page_url) or "")
    uses: dict[str, _HostUse] = {}
    for tag, url in referenced_urls(_decode(result), page_url):
        host = host_of(url)
        if host is None or registrable_domain(host) == page_site:
            continue
        use = uses.setdefault(host, _HostUse())
        use.tags.add(tag)
        use.count += 1
        if url not in use.urls and len(use.urls) < _URLS_PER_HOST:
            use.urls.append(url)
    return [
        Evidence(
            kind="third_party",
            severity=Severity.MEDIUM if "script" in use.tags else Severity.INFO,
            title=f"Third party {host} ({', '.join(sorted(use.tags))})",
            details={
                "host": host,
                "registrable_domain": registrable_domain(host),
                "tags": sorted(use.tags),
                "count": use.count,
                "urls": use.urls,
            },
            location=page_url,
        )
        for host, use in sorted(uses.items())
    ]


def _resolve(reference: str, base_url: str) -> str | None:
    """Absolute URL for an attribute value, or None unless it is http(s) with a host (data:, javascript:…)."""
    reference = reference.strip(_C0_AND_SPACE).translate(_STRIPPED_INSIDE)
    if not reference:
        return None
    try:
        url = urljoin(base_url, reference)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
    except ValueError:  # e.g. an unterminated IPv6 literal
        return None
    return url


def _decode(result: FetchResult) -> str:
    try:
        return result.text()
    except LookupError:  # the server named a charset Python does not know
        return result.body.decode("utf-8", errors="replace")
