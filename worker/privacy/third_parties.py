"""Evidence for third-party hosts the final HTML page makes the browser contact."""

from __future__ import annotations

from dataclasses import dataclass, field

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document
from scanfleet.worker.privacy.domains import registrable_domain

URLS_PER_HOST = 5  # URLs listed per host: enough to show what is loaded, not a page dump

# Hosts whose whole job is serving web fonts or shared libraries: each visit still tells them the
# visitor's IP address and the page (a German court fined a site for Google Fonts in 2022), and
# self-hosting the same files avoids it.
FONT_SERVICES = frozenset(
    {
        "fonts.googleapis.com",
        "fonts.gstatic.com",
        "use.typekit.net",
        "p.typekit.net",
        "fonts.bunny.net",
        "use.fontawesome.com",
        "kit.fontawesome.com",
        "fast.fonts.net",
        "cloud.typography.com",
    }
)
PUBLIC_CDNS = frozenset(
    {
        "cdnjs.cloudflare.com",
        "cdn.jsdelivr.net",
        "unpkg.com",
        "code.jquery.com",
        "ajax.googleapis.com",
        "ajax.aspnetcdn.com",
        "stackpath.bootstrapcdn.com",
        "maxcdn.bootstrapcdn.com",
        "cdn.skypack.dev",
        "esm.sh",
    }
)


@dataclass
class _HostUse:
    tags: set[str] = field(default_factory=set)
    count: int = 0
    urls: list[str] = field(default_factory=list)


def host_category(host: str) -> str | None:
    """The category of a well-known shared service above ("font" or "cdn"), else None."""
    if host in FONT_SERVICES:
        return "font"
    return "cdn" if host in PUBLIC_CDNS else None


def collect_third_parties(document: Document | None) -> list[Evidence]:
    """One "third_party" row per host whose registrable domain differs from the final page's, sorted by host.

    Severity: medium when the host serves a script (it runs with the page's full privileges), info otherwise.
    """
    if document is None:
        return []
    uses: dict[str, _HostUse] = {}
    for host, references in document.third_parties.items():
        use = uses[host] = _HostUse()
        for reference in references:
            use.tags.add(reference.tag)
            use.count += 1
            if reference.url not in use.urls and len(use.urls) < URLS_PER_HOST:
                use.urls.append(reference.url)
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
                "category": host_category(host),
            },
            location=document.url,
        )
        for host, use in sorted(uses.items())
    ]
