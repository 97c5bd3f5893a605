"""The shape of the privacy corpus: fixture pages, the servers that serve them, and what a scan must find.

Each page states the truth about itself: the evidence rows and issue codes a correct scan reports.
Where the browserless scanner is known to fall short, the page says so instead of bending the truth:
a row or code it cannot see is marked missed, one it reports wrongly is marked spurious. The corpus
test asserts exactly what is reported (so an improvement shows up as a failing test to update), and
bench/privacy_quality.py scores reports against the truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scanfleet.worker.privacy import EVIDENCE_KINDS

# Kinds a page lists only in part (the rows it is about): those rows must be there, others may be too.
PARTIAL_KINDS = ("redirect", "final_url", "security_header")
# Every other kind a page lists completely: every reported row must be expected, and vice versa.
EXHAUSTIVE_KINDS = tuple(kind for kind in EVIDENCE_KINDS if kind not in PARTIAL_KINDS)

# Headers of a well-configured page, so each page fires only the rules it is about.
SECURE_HEADERS = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=()"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
)


@dataclass(frozen=True)
class Server:
    tls: bool
    cert_days: float | None = None  # certificate lifetime from the start of the run; None: trustme's default


SERVERS = {
    "http": Server(tls=False),
    "https": Server(tls=True),
    # Half a day past a whole number, so days_left is that number for the whole run.
    "https_10d": Server(tls=True, cert_days=10.5),
    "https_20d": Server(tls=True, cert_days=20.5),
}


@dataclass(frozen=True)
class Row:
    """An evidence row: its kind, a subset of its details (exact values) and, optionally, its severity."""

    kind: str
    details: Mapping[str, Any] = field(default_factory=dict)
    severity: str | None = None
    truth: bool = True  # False: a spurious row the scanner reports although the page does not do it
    reported: bool = True  # False: a missed row, true of the page but invisible to this scanner

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether an evidence row as the API returns it ({"kind", "severity", "details", …}) is this one."""
        if row["kind"] != self.kind or (self.severity is not None and row["severity"] != self.severity):
            return False
        return all(key in row["details"] and row["details"][key] == value for key, value in self.details.items())


def missed(kind: str, details: Mapping[str, Any]) -> Row:
    return Row(kind, details, reported=False)


def spurious(kind: str, details: Mapping[str, Any]) -> Row:
    return Row(kind, details, truth=False)


COVERAGE = Row("coverage", {"truncated": False, "html_analysed": True}, "info")


@dataclass(frozen=True)
class CorpusPage:
    name: str
    note: str  # what the page is for
    server: str  # a key of SERVERS
    body: str
    rows: tuple[Row, ...]
    issues: frozenset[str]  # true and reported
    via_http: bool = False  # the scan starts on an http:// URL that redirects to the page
    headers: tuple[tuple[str, str], ...] = ()  # added to SECURE_HEADERS
    drop: tuple[str, ...] = ()  # SECURE_HEADERS left out
    missed_issues: frozenset[str] = frozenset()
    spurious_issues: frozenset[str] = frozenset()

    @property
    def path(self) -> str:
        return f"/corpus/{self.name}"

    @property
    def all_rows(self) -> tuple[Row, ...]:
        return (*self.rows, COVERAGE)  # every scan of an HTML page has one coverage row

    @property
    def reported_issues(self) -> frozenset[str]:
        return self.issues | self.spurious_issues

    @property
    def true_issues(self) -> frozenset[str]:
        return self.issues | self.missed_issues

    def response_headers(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in SECURE_HEADERS if name not in self.drop] + list(self.headers)
