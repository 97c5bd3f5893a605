"""Evidence for third-party hosts named in the page's inline scripts: the loaders tag snippets build at run time."""

from __future__ import annotations

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document
from scanfleet.worker.privacy.domains import registrable_domain
from scanfleet.worker.privacy.third_parties import URLS_PER_HOST, host_category


def collect_inline_references(document: Document | None) -> list[Evidence]:
    """One "inline_reference" row per third-party host named in inline script text, sorted by host.

    Severity info: naming a host is not loading it. The tracker rows say which of these hosts track.
    """
    if document is None:
        return []
    rows = []
    for host, references in sorted(document.inline_third_parties.items()):
        urls = list(dict.fromkeys(reference.url for reference in references))
        rows.append(
            Evidence(
                kind="inline_reference",
                severity=Severity.INFO,
                title=f"Inline script names {host}",
                details={
                    "host": host,
                    "registrable_domain": registrable_domain(host),
                    "written_as": sorted({reference.written_as for reference in references}),
                    "count": len(references),
                    "urls": urls[:URLS_PER_HOST],
                    "category": host_category(host),
                },
                location=document.url,
            )
        )
    return rows
