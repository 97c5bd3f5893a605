"""The shape of the privacy corpora: fixture pages, the servers that serve them, and what a scan must find.

Each page states the truth about itself: the evidence rows and issue codes a correct scan reports.
Where its corpus's engine (the http engine for CorpusPage, the browser for BrowserPage) is known to fall
short, the page says so instead of bending the truth: a row or code it cannot see is marked missed, one it
reports wrongly is marked spurious. The corpus tests assert exactly what is reported (so an improvement
shows up as a failing test to update), and bench/privacy_quality.py and bench/browser_quality.py score
reports against the truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scanfleet.worker.browser.evidence import BROWSER_EVIDENCE_KINDS
from scanfleet.worker.privacy import EVIDENCE_KINDS

# Kinds a page lists only in part (the rows it is about): those rows must be there, others may be too.
PARTIAL_KINDS = ("redirect", "final_url", "security_header")
# Every other kind a page lists completely: every reported row must be expected, and vice versa.
EXHAUSTIVE_KINDS = tuple(kind for kind in EVIDENCE_KINDS if kind not in PARTIAL_KINDS)
# A browser scan's rows: the http engine's kinds and what only a browser sees, each listed completely.
BROWSER_EXHAUSTIVE_KINDS = (*EXHAUSTIVE_KINDS, *BROWSER_EVIDENCE_KINDS)

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
class Prefix:
    """A detail that starts with `text` (the rest differs per scan: a hash of that scan's random canary)."""

    text: str


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Prefix):
        return isinstance(actual, str) and actual.startswith(expected.text)
    return bool(actual == expected)


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
        return all(key in row["details"] and _same(row["details"][key], value) for key, value in self.details.items())


def missed(kind: str, details: Mapping[str, Any]) -> Row:
    return Row(kind, details, reported=False)


def spurious(kind: str, details: Mapping[str, Any]) -> Row:
    return Row(kind, details, truth=False)


COVERAGE = Row("coverage", {"truncated": False, "html_analysed": True}, "info")
# A browser scan's coverage row: the page loaded, nothing refused, no limit reached, no banner touched.
BROWSER_COVERAGE = Row(
    "coverage",
    {
        "engine": "browser",
        "load_event": True,
        "connections_refused": 0,
        "limits_hit": [],
        "consent_interaction": "none",
    },
    "info",
)


@dataclass(frozen=True, kw_only=True)
class Truth:
    """A page's truth: the rows (known misses and spurious rows marked) and the issue codes."""

    name: str
    note: str  # what the page is for
    rows: tuple[Row, ...]
    issues: frozenset[str]  # true and reported
    missed_issues: frozenset[str] = frozenset()
    spurious_issues: frozenset[str] = frozenset()

    @property
    def all_rows(self) -> tuple[Row, ...]:
        return self.rows

    @property
    def reported_issues(self) -> frozenset[str]:
        return self.issues | self.spurious_issues

    @property
    def true_issues(self) -> frozenset[str]:
        return self.issues | self.missed_issues


@dataclass(frozen=True, kw_only=True)
class CorpusPage(Truth):
    """A page of the http engine's corpus, served by one of SERVERS."""

    server: str  # a key of SERVERS
    body: str
    via_http: bool = False  # the scan starts on an http:// URL that redirects to the page
    headers: tuple[tuple[str, str], ...] = ()  # added to SECURE_HEADERS
    drop: tuple[str, ...] = ()  # SECURE_HEADERS left out

    @property
    def path(self) -> str:
        return f"/corpus/{self.name}"

    @property
    def all_rows(self) -> tuple[Row, ...]:
        return (*self.rows, COVERAGE)  # every scan of an HTML page has one coverage row

    def response_headers(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in SECURE_HEADERS if name not in self.drop] + list(self.headers)


# A browser page's own headers: SECURE_HEADERS with a CSP that lets the page's vendors run (as shops' do), so
# each page fires only the rules it is about.
BROWSER_PAGE_HEADERS = tuple(
    (name, "frame-ancestors 'none'" if name == "Content-Security-Policy" else value) for name, value in SECURE_HEADERS
)


@dataclass(frozen=True, kw_only=True)
class BrowserPage(Truth):
    """A page of the browser corpus: the site https://<name>.test/ on the fake internet, whose vendors are
    tests/support/vendors.py; `files` are the site's own other URLs (path, content type, body)."""

    body: str
    headers: tuple[tuple[str, str], ...] = ()  # added to BROWSER_PAGE_HEADERS
    files: tuple[tuple[str, str, str], ...] = ()

    @property
    def host(self) -> str:
        return f"{self.name}.test"

    @property
    def url(self) -> str:
        return f"https://{self.host}/"

    @property
    def all_rows(self) -> tuple[Row, ...]:
        return (*self.rows, BROWSER_COVERAGE)

    def response_headers(self) -> list[tuple[str, str]]:
        return [*BROWSER_PAGE_HEADERS, *self.headers]
