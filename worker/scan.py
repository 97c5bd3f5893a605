"""A privacy scan from URL to Outcome: fetch through the guard, analyse, classify failures as results."""

from __future__ import annotations

import logging

from scanfleet.http import FetchError, FetchResult, SafeFetcher
from scanfleet.model import Attachment, DomainSeen, Evidence, Outcome, Status
from scanfleet.worker.privacy import analyse
from scanfleet.worker.privacy.vendors import Category

log = logging.getLogger(__name__)
_VENDOR_CATEGORIES = frozenset(category.value for category in Category)


async def scan_url(fetcher: SafeFetcher, url: str, document_bytes: int = 0) -> Outcome:
    """`document_bytes`: how much of the main document is kept as the scan's artifact (0: none)."""
    try:
        result = await fetcher.fetch(url)
    except FetchError as exc:
        # What was seen before the failure (say, a redirect to a refused address) is evidence too.
        outcome = _analysed(FetchResult(hops=exc.hops, body=b"")) if exc.hops else Outcome(Status.FAILED)
        return failed_outcome(outcome, exc.code, exc.message)
    outcome = _analysed(result)
    outcome.attachments += document_attachment(result, document_bytes)
    if outcome.status is Status.FAILED:
        return outcome
    if result.final.status >= 400:
        return failed_outcome(outcome, "http_error", f"the final response has status {result.final.status}")
    if not result.is_html:
        kind = result.content_type or "untyped"
        return failed_outcome(outcome, "not_html", f"the final response is {kind}, not an HTML page")
    return outcome


def _analysed(result: FetchResult) -> Outcome:
    final = result.final
    try:
        evidence, issues = analyse(result)
    except Exception:
        # A page that trips our analysers is our bug, not the target's: record it and keep the worker going.
        log.exception("analysis failed for %s", final.url)
        return failed_outcome(
            Outcome(Status.FAILED, final_url=final.url, http_status=final.status),
            "analysis_error",
            "the page could not be analysed",
        )
    return Outcome(
        Status.SUCCEEDED, final_url=final.url, http_status=final.status, evidence=evidence, issues=issues,
        domains=domains_seen(evidence),
    )  # fmt: skip


def document_attachment(result: FetchResult, max_bytes: int) -> list[Attachment]:
    """The main document as the scan received it, its first `max_bytes` (none for an empty body)."""
    if not result.body or max_bytes <= 0:
        return []
    return [Attachment("document", result.content_type or "application/octet-stream", result.body[:max_bytes])]


def domains_seen(evidence: list[Evidence]) -> list[DomainSeen]:
    """Every registrable domain the evidence names as a third party, once, a tracker if any row says so: hosts
    in the page's tags and inline scripts and, in a browser, every third-party host it requested (hosts that
    appear only at run time, injected by a tag manager, among them)."""
    seen: dict[str, DomainSeen] = {}
    for item in evidence:
        domain = item.details.get("registrable_domain")
        if not domain or not _names_a_third_party(item):
            continue
        tracker = item.kind == "tracker" or bool(item.details.get("tracker")) or _tracking_request(item)
        vendor = item.details.get("vendor")
        before = seen.get(domain)
        if before is not None:
            tracker, vendor = tracker or before.tracker, vendor or before.vendor
        seen[domain] = DomainSeen(domain, tracker, vendor)
    return sorted(seen.values(), key=lambda d: d.domain)


def _names_a_third_party(item: Evidence) -> bool:
    if item.kind == "request":
        return item.details.get("party") == "third"
    return item.kind in ("third_party", "inline_reference", "tracker")


def _tracking_request(item: Evidence) -> bool:
    """A request row to a known vendor or a blocklisted URL (its category is then a vendor category)."""
    return item.kind == "request" and item.details.get("category") in _VENDOR_CATEGORIES


def failed_outcome(outcome: Outcome, code: str, message: str) -> Outcome:
    outcome.status = Status.FAILED
    outcome.error_code = code
    outcome.error_message = message
    return outcome
