"""Entry point: run every evidence collector over a fetch result, then the rules over the evidence."""

from __future__ import annotations

from datetime import UTC, datetime

from scanfleet.http.fetch import FetchResult
from scanfleet.model import Evidence, Issue
from scanfleet.worker.privacy.consent import ConsentSignals, collect_consent_managers
from scanfleet.worker.privacy.cookies import collect_cookies
from scanfleet.worker.privacy.coverage import collect_coverage
from scanfleet.worker.privacy.document import Document, parse_document
from scanfleet.worker.privacy.forms import collect_forms
from scanfleet.worker.privacy.headers import collect_security_headers
from scanfleet.worker.privacy.inline_references import collect_inline_references
from scanfleet.worker.privacy.mixed_content import collect_mixed_content
from scanfleet.worker.privacy.policy_links import collect_privacy_policy
from scanfleet.worker.privacy.redirects import collect_redirects
from scanfleet.worker.privacy.rules import evaluate
from scanfleet.worker.privacy.third_parties import collect_third_parties
from scanfleet.worker.privacy.tls import collect_tls
from scanfleet.worker.privacy.trackers import collect_trackers

# Every kind of evidence row, in the order analyse() returns them.
EVIDENCE_KINDS = (
    "redirect",
    "final_url",
    "https_redirect",
    "tls_certificate",
    "cookie",
    "security_header",
    "third_party",
    "inline_reference",
    "tracker",
    "consent_manager",
    "form",
    "mixed_content",
    "privacy_policy",
    "coverage",
)


def analyse(result: FetchResult, now: datetime | None = None) -> tuple[list[Evidence], list[Issue]]:
    """Evidence rows in EVIDENCE_KINDS order and the issues; `now` (default: the current time) dates certificates.

    Issue.evidence holds indexes into the returned evidence list.
    """
    evidence = collect_evidence(result, parse_document(result), now or datetime.now(UTC))
    return evidence, evaluate(evidence)


def collect_evidence(
    result: FetchResult, document: Document | None, now: datetime, consent: ConsentSignals | None = None
) -> list[Evidence]:
    """Every collector over a fetch result and its page, parsed once beforehand (None: no HTML to read);
    `consent` is what a browser saw of consent managers at run time (None: an http scan)."""
    return [
        *collect_redirects(result),
        *collect_tls(result, now),
        *collect_cookies(result),
        *collect_security_headers(result),
        *collect_third_parties(document),
        *collect_inline_references(document),
        *collect_trackers(document),
        *collect_consent_managers(document, consent),
        *collect_forms(document),
        *collect_mixed_content(document),
        *collect_privacy_policy(document),
        collect_coverage(result, document),
    ]
