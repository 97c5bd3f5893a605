"""One parse of the final HTML page into what the collectors look at.

Parsing once keeps a 2 MB page from being walked by every collector; each collector then reads plain
data (loaded references, forms, links, inline scripts and the hosts they name) and never touches the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scanfleet.http.fetch import FetchResult
from scanfleet.worker.privacy.domains import host_of, registrable_domain
from scanfleet.worker.privacy.script_hosts import NamedHost, hosts_in_scripts

# Which attribute of which element loads (or submits to) a URL, and the request type an ad blocker
# (and the Mixed Content spec) sees for it. <link> gets its type from rel and as, below.
_URL_ATTRIBUTES = {
    "script": ("src", "script"),
    "img": ("src", "image"),
    "iframe": ("src", "subdocument"),
    "link": ("href", "other"),
    "form": ("action", "other"),
    "source": ("src", "media"),
    "video": ("src", "media"),
    "audio": ("src", "media"),
    "embed": ("src", "object"),
    "object": ("data", "object"),
}
_SELECTOR = ", ".join(f"{tag}[{attribute}]" for tag, (attribute, _) in _URL_ATTRIBUTES.items())

# <link> rels that make the browser fetch or connect; canonical, alternate and the like are only metadata.
_ICON_RELS = frozenset({"icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"})
_PRELOAD_RELS = frozenset({"preload", "modulepreload", "prefetch"})
_CONNECT_RELS = frozenset({"preconnect", "dns-prefetch", "prerender", "manifest"})
_LOADING_RELS = frozenset({"stylesheet"}) | _ICON_RELS | _PRELOAD_RELS | _CONNECT_RELS
# <link rel=preload as=…> values and the request type of the fetch they start.
_PRELOAD_AS = {
    "script": "script",
    "style": "stylesheet",
    "font": "font",
    "image": "image",
    "audio": "media",
    "video": "media",
    "track": "media",
    "fetch": "xmlhttprequest",
    "document": "subdocument",
}

# Script types a browser executes (HTML "JavaScript MIME type essence match", plus module); others,
# such as application/ld+json or consent-gated text/plain, are data until something changes them.
_EXECUTABLE_SCRIPT_TYPES = frozenset(
    {
        "",
        "module",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
        "text/jscript",
    }
)
_EMAIL_NAME = re.compile(r"e-?mail", re.IGNORECASE)

# The HTML URL parser strips leading/trailing C0 controls and spaces and drops tabs and newlines inside.
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
_STRIPPED_INSIDE = str.maketrans("", "", "\t\n\r")
_LINK_TEXT_CHARS = 120
_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    """A URL the browser loads (or submits to) because of one element."""

    tag: str
    url: str
    host: str
    request_type: str  # as an ad blocker names it: script, image, subdocument, stylesheet, font, media, …


@dataclass(frozen=True)
class Form:
    action: str  # the absolute http(s) URL the form submits to
    method: str  # lower-case: "get", "post", "dialog"
    sensitive_fields: tuple[str, ...]  # sorted: "email", "password"
    inputs: int  # input, select and textarea elements inside the form


@dataclass(frozen=True)
class Anchor:
    href: str  # as written: resolve with resolve_url(href, Document.base_url) when it matters
    text: str  # visible text plus title/aria-label, whitespace collapsed


@dataclass(frozen=True)
class Document:
    url: str  # the final page URL
    base_url: str  # what relative URLs resolve against: the first <base href>, else the page URL
    references: list[Reference]
    forms: list[Form]
    anchors: list[Anchor]
    inline_scripts: list[str]

    @cached_property
    def https(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @cached_property
    def site(self) -> str:
        """The page's registrable domain: what "first party" means for every collector."""
        return registrable_domain(host_of(self.url) or "")

    @cached_property
    def third_parties(self) -> dict[str, list[Reference]]:
        """References to hosts outside the page's registrable domain, grouped by host in document order."""
        by_host: dict[str, list[Reference]] = {}
        for reference in self.references:
            if registrable_domain(reference.host) != self.site:
                by_host.setdefault(reference.host, []).append(reference)
        return by_host

    @cached_property
    def inline_third_parties(self) -> dict[str, NamedHost]:
        """Hosts outside the page's registrable domain named in inline script text, in the order first named:
        what the page's own scripts may load at run time, whether or not a tag names them too."""
        named = hosts_in_scripts(self.inline_scripts, self.url)
        return {host: entry for host, entry in named.items() if registrable_domain(host) != self.site}


def parse_document(result: FetchResult) -> Document | None:
    """The final page parsed, or None when there is no HTML body to look at (non-HTML, or nothing read)."""
    if not result.is_html or not result.body:
        return None
    return parse_html(_decode(result), result.final.url)


def parse_html(html: str, page_url: str) -> Document:
    tree = LexborHTMLParser(html)
    base_url = page_url
    base = tree.css_first("base[href]")  # only the first <base href> counts
    if base is not None:
        base_url = resolve_url(base.attributes.get("href") or "", page_url) or page_url
    return Document(
        url=page_url,
        base_url=base_url,
        references=_references(tree, base_url),
        forms=[form for node in tree.css("form") if (form := _form(node, page_url, base_url)) is not None],
        anchors=[_anchor(node) for node in tree.css("a[href]")],
        inline_scripts=[
            node.text() for node in tree.css("script:not([src])") if _script_type(node) in _EXECUTABLE_SCRIPT_TYPES
        ],
    )


def _references(tree: LexborHTMLParser, base_url: str) -> list[Reference]:
    references: list[Reference] = []
    for node in tree.css(_SELECTOR):
        tag = node.tag or ""
        attributes = node.attributes  # built anew on every access: read it once
        attribute, request_type = _URL_ATTRIBUTES[tag]
        if tag == "link":
            rels = set((attributes.get("rel") or "").lower().split())
            if not _LOADING_RELS & rels:
                continue
            request_type = _link_request_type(rels, (attributes.get("as") or "").strip().lower())
        resolved = _resolve(attributes.get(attribute) or "", base_url)
        if resolved is not None:
            references.append(Reference(tag, resolved[0], resolved[1], request_type))
    return references


def _link_request_type(rels: set[str], as_value: str) -> str:
    if "stylesheet" in rels:
        return "stylesheet"
    if _ICON_RELS & rels:
        return "image"
    if _PRELOAD_RELS & rels:
        return _PRELOAD_AS.get(as_value, "script" if "modulepreload" in rels else "other")
    return "other"  # a connection or a prerender: nothing the page itself uses as content


def _form(node: LexborNode, page_url: str, base_url: str) -> Form | None:
    """None for forms that submit nowhere on the network (javascript:, mailto: actions)."""
    action_attribute = (node.attributes.get("action") or "").strip()
    # HTML: an empty or missing action submits to the document's URL, not the base URL.
    action = resolve_url(action_attribute, base_url) if action_attribute else page_url
    if action is None:
        return None
    fields = node.css("input, select, textarea")
    sensitive = {kind for field in fields if (kind := _sensitive_kind(field)) is not None}
    return Form(
        action=action,
        method=(node.attributes.get("method") or "get").strip().lower(),
        sensitive_fields=tuple(sorted(sensitive)),
        inputs=len(fields),
    )


def _sensitive_kind(field: LexborNode) -> str | None:
    attributes = field.attributes
    input_type = (attributes.get("type") or "").strip().lower()
    if input_type == "password":
        return "password"
    hints = " ".join(attributes.get(name) or "" for name in ("name", "id", "autocomplete"))
    if input_type == "email" or _EMAIL_NAME.search(hints):
        return "email"
    return None


def _anchor(node: LexborNode) -> Anchor:
    # Not resolved here: a large page has thousands of links, and only policy links need a URL.
    attributes = node.attributes
    labels = [node.text(deep=True, separator=" "), attributes.get("title") or "", attributes.get("aria-label") or ""]
    return Anchor(attributes.get("href") or "", " ".join(" ".join(labels).split())[:_LINK_TEXT_CHARS])


def _script_type(node: LexborNode) -> str:
    return (node.attributes.get("type") or "").split(";")[0].strip().lower()


def resolve_url(reference: str, base_url: str) -> str | None:
    """The absolute http(s) URL an attribute value points to, resolved like a browser; None if it is not one."""
    resolved = _resolve(reference, base_url)
    return resolved[0] if resolved is not None else None


def _resolve(reference: str, base_url: str) -> tuple[str, str] | None:
    """(absolute URL, host) for an attribute value, or None unless it is http(s) with a host (data:,
    javascript:…). Absolute URLs skip urljoin: on a large page it is most of the parse."""
    reference = reference.strip(_C0_AND_SPACE).translate(_STRIPPED_INSIDE)
    if not reference:
        return None
    try:
        url = reference if _ABSOLUTE.match(reference) else urljoin(base_url, reference)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
    except ValueError:  # e.g. an unterminated IPv6 literal
        return None
    return url, parts.hostname


def _decode(result: FetchResult) -> str:
    try:
        return result.text()
    except LookupError:  # the server named a charset Python does not know
        return result.body.decode("utf-8", errors="replace")
