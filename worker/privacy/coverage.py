"""The coverage row: what this scan looked at, and what a scan without a browser cannot see.

Always present, so silence in the other rows is never read as a clean bill of health.
"""

from __future__ import annotations

from scanfleet.http.fetch import FetchResult
from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document

NOT_OBSERVED = (
    "cookies set by JavaScript (document.cookie) or by requests scripts make after the page loads",
    "localStorage, sessionStorage, IndexedDB and other browser storage",
    "fingerprinting (canvas, WebGL, audio, installed fonts, navigator properties)",
    "tags injected at runtime, e.g. by a tag manager, and every request they make",
    "requests scripts make themselves: XHR/fetch, beacons, WebSockets",
    "consent banner behaviour: what loads before consent, and whether refusing stops it",
)


def collect_coverage(result: FetchResult, document: Document | None) -> Evidence:
    """One "coverage" row, severity info, for every analysis."""
    return Evidence(
        kind="coverage",
        severity=Severity.INFO,
        title="Scanned from HTTP and HTML only: what was analysed and what cannot be seen without a browser",
        details={
            "bytes": len(result.body),
            "truncated": result.truncated,
            "content_type": result.content_type or None,
            "html_analysed": document is not None,
            **_counts(document),
            "not_observed": list(NOT_OBSERVED),
        },
        location=result.final.url,
    )


def _counts(document: Document | None) -> dict[str, int]:
    if document is None:
        return dict.fromkeys(("references", "inline_scripts", "forms", "links"), 0)
    return {
        "references": len(document.references),
        "inline_scripts": len(document.inline_scripts),
        "forms": len(document.forms),
        "links": len(document.anchors),
    }
