"""Evidence for third-party hosts named in the page's inline scripts: the loaders tag snippets build at run time."""

from __future__ import annotations

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document
from scanfleet.worker.privacy.domains import registrable_domain
from scanfleet.worker.privacy.third_parties import host_category


def collect_inline_references(document: Document | None) -> list[Evidence]:
    """One "inline_reference" row per third-party host named in inline script text, sorted by host.

    Severity info: naming a host is not loading it. The tracker rows say which of these hosts track.
    """
    if document is None:
        return []
    return [
        Evidence(
            kind="inline_reference",
            severity=Severity.INFO,
            title=f"Inline script names {host}",
            details={
                "host": host,
                "registrable_domain": registrable_domain(host),
                "written_as": sorted(named.written_as),
                "count": named.count,
                "urls": named.urls,
                "category": host_category(host),
            },
            location=document.url,
        )
        for host, named in sorted(document.inline_third_parties.items())
    ]
