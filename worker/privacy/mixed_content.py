"""Evidence for mixed content: http:// resources on an https:// page.

Active content (scripts, frames, stylesheets, fonts, plugins) can rewrite the whole page, so browsers
block it; passive content (images, audio, video) is upgraded or shown with a warning, and still tells
anyone on the network what the visitor looks at. Forms are the forms collector's concern, and
connection hints (preconnect, dns-prefetch) load no content.
"""

from __future__ import annotations

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document

_PASSIVE = frozenset({"image", "media"})
_ACTIVE = frozenset({"script", "subdocument", "stylesheet", "font", "object", "xmlhttprequest"})


def collect_mixed_content(document: Document | None) -> list[Evidence]:
    """One "mixed_content" row per distinct http:// URL an https:// page loads, in document order.

    Severity: high for active content, low for passive.
    """
    if document is None or not document.https:
        return []
    rows: list[Evidence] = []
    seen: set[str] = set()
    for reference in document.references:
        # Resolved references are always http(s) URLs with a host, so the prefix is the scheme.
        if reference.url[:5].lower() != "http:" or reference.url in seen:
            continue
        if reference.request_type in _ACTIVE:
            mode, severity = "active", Severity.HIGH
        elif reference.request_type in _PASSIVE:
            mode, severity = "passive", Severity.LOW
        else:
            continue
        seen.add(reference.url)
        rows.append(
            Evidence(
                kind="mixed_content",
                severity=severity,
                title=f"Insecure {mode} content over http: {reference.url}",
                details={
                    "url": reference.url,
                    "host": reference.host,
                    "tag": reference.tag,
                    "request_type": reference.request_type,
                    "mode": mode,
                },
                location=document.url,
            )
        )
    return rows
