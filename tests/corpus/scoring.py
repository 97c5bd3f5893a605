"""Matching evidence against a corpus page: the corpus test's assertions and the quality bench's counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from scanfleet.model import Evidence
from tests.corpus.model import EXHAUSTIVE_KINDS, PARTIAL_KINDS, Row, Truth

EvidenceRow = Mapping[str, Any]  # as the API returns it: {"kind", "severity", "title", "details", …}


@dataclass(frozen=True)
class Matching:
    matched: int
    unmatched_expected: list[Row]
    unmatched_reported: list[EvidenceRow]


# What makes a reported row the same finding as a truth row, whatever else each engine says of it: the quality
# benches compare engines that see a finding differently (an http scan names a consent manager without the TCF
# answer only a browser reads), so they pair rows by these details alone.
IDENTITY: dict[str, tuple[str, ...]] = {
    "cookie": ("name",),
    "third_party": ("host",),
    "inline_reference": ("host",),
    "tracker": ("vendor", "host"),
    "consent_manager": ("name",),
    "form": ("action",),
    "privacy_policy": ("found",),
    "request": ("url",),
    "browser_cookie": ("name", "domain"),
    "storage": ("origin", "area"),
    "fingerprinting": ("technique", "script"),
    "key_logging": ("field", "host"),
    "session_recording": ("script",),
}


def identity(row: Row) -> Row:
    """`row` reduced to the details that identify its finding (IDENTITY), any severity."""
    keys = IDENTITY[row.kind]
    return replace(row, details={key: value for key, value in row.details.items() if key in keys}, severity=None)


def as_api_row(evidence: Evidence) -> dict[str, Any]:
    """An analyse() row in the API's shape, so offline and end-to-end results are checked alike."""
    return {
        "kind": evidence.kind,
        "severity": evidence.severity.value,
        "title": evidence.title,
        "details": evidence.details,
    }


def match(expected: Sequence[Row], reported: Sequence[EvidenceRow]) -> Matching:
    """Pair each expected row with the first still-unpaired reported row it matches, in order."""
    left = list(reported)
    unmatched: list[Row] = []
    for row in expected:
        found = next((candidate for candidate in left if row.matches(candidate)), None)
        if found is None:
            unmatched.append(row)
        else:
            left.remove(found)
    return Matching(len(expected) - len(unmatched), unmatched, left)


def problems(
    page: Truth, evidence: Sequence[EvidenceRow], codes: set[str], exhaustive: Sequence[str] = EXHAUSTIVE_KINDS
) -> list[str]:
    """Every way a scan's evidence and issue codes differ from what `page` says a scan reports; [] if none.
    Rows of the `exhaustive` kinds are listed completely, of PARTIAL_KINDS in part."""
    found: list[str] = []
    reported = [row for row in page.all_rows if row.reported]
    for kind in (*exhaustive, *PARTIAL_KINDS):
        result = match([row for row in reported if row.kind == kind], [row for row in evidence if row["kind"] == kind])
        found += [f"expected, not reported: {row}" for row in result.unmatched_expected]
        if kind in exhaustive:
            found += [f"reported, not expected: {row}" for row in result.unmatched_reported]
    for row in page.all_rows:
        if not row.reported and any(row.matches(candidate) for candidate in evidence):
            found.append(f"known miss is now reported (update the corpus): {row}")
    if codes != page.reported_issues:
        found.append(
            f"issue codes: extra {sorted(codes - page.reported_issues)}, missing {sorted(page.reported_issues - codes)}"
        )
    return found
