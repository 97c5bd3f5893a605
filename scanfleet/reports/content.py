"""What a report shows, drawn from a job's stored rows: issues with the evidence behind them, third parties,
cookies, storage and the other findings, each as plain values for the templates.

Every value here came from the target (its URLs, headers, cookie names, script text): the templates escape it
all, and nothing is ever turned into a link or a source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scanfleet.model import Severity

Row = Mapping[str, Any]
SEVERITIES = tuple(severity.value for severity in Severity)
MAX_VALUE_CHARS = 400  # a detail's value shown at most this long: the rest is in the API's evidence
MAX_EVIDENCE_PER_ISSUE = 40
IN_FULL = 3  # an issue's first evidence rows shown with every detail; the rest one line each


def text(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A detail's value as one line of text, cut at `limit` characters."""
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def details_of(row: Row) -> dict[str, Any]:
    details = row.get("details")
    return details if isinstance(details, dict) else {}


@dataclass(frozen=True)
class EvidenceView:
    seq: int
    kind: str
    severity: str
    title: str
    location: str | None
    details: list[tuple[str, str]]  # (name, value as text), empty values left out
    subject: str  # what the row is about, in one line: its URL, script or host, else where it was seen

    @classmethod
    def of(cls, row: Row) -> EvidenceView:
        details = details_of(row)
        shown = [(str(name), text(value)) for name, value in details.items() if value not in (None, [], {}, "")]
        location = None if row.get("location") is None else text(row["location"])
        subject = next((text(details[k]) for k in ("url", "script", "host", "name") if details.get(k)), location)
        return cls(
            int(row["seq"]), str(row["kind"]), str(row["severity"]), str(row["title"]), location, shown,
            subject or "",
        )  # fmt: skip


@dataclass(frozen=True)
class IssueView:
    code: str
    severity: str
    title: str
    explanation: str
    evidence: list[EvidenceView]  # up to MAX_EVIDENCE_PER_ISSUE; the first IN_FULL shown in full
    more_evidence: int  # rows behind it not shown

    @property
    def in_full(self) -> list[EvidenceView]:
        return self.evidence[:IN_FULL]

    @property
    def listed(self) -> list[EvidenceView]:
        return self.evidence[IN_FULL:]


@dataclass(frozen=True)
class SeverityGroup:
    severity: str
    issues: list[IssueView]


def issues_by_severity(issues: Iterable[Row], evidence: Mapping[int, Row]) -> list[SeverityGroup]:
    """The issues, most severe first, each with the evidence rows it names."""
    groups: dict[str, list[IssueView]] = {severity: [] for severity in SEVERITIES}
    for issue in issues:
        seqs = [seq for seq in issue.get("evidence") or [] if seq in evidence]
        groups.setdefault(str(issue["severity"]), []).append(
            IssueView(
                str(issue["code"]), str(issue["severity"]), str(issue["title"]), str(issue["explanation"]),
                [EvidenceView.of(evidence[seq]) for seq in seqs[:MAX_EVIDENCE_PER_ISSUE]],
                max(0, len(seqs) - MAX_EVIDENCE_PER_ISSUE),
            )
        )  # fmt: skip
    return [SeverityGroup(severity, found) for severity, found in groups.items() if found]


@dataclass
class ThirdParty:
    host: str
    domain: str
    vendor: str
    category: str
    what: set[str] = field(default_factory=set)  # resource types (browser) or tags (html)
    requests: int = 0
    tracker: bool = False  # on a blocklist, or found as a tracker


def third_parties(evidence: Iterable[Row]) -> list[ThirdParty]:
    """Each third-party host, from the browser's requests or, for an http scan, the page's references and the
    trackers found; sorted by host."""
    hosts: dict[str, ThirdParty] = {}

    def entry(details: Mapping[str, Any]) -> ThirdParty:
        host = str(details.get("host") or "")
        return hosts.setdefault(host, ThirdParty(host, str(details.get("registrable_domain") or ""), "", ""))

    for row in evidence:
        details = details_of(row)
        if row["kind"] == "request" and details.get("party") == "third":
            party = entry(details)
            party.requests += 1
            party.what.add(str(details.get("resource_type") or "other"))
            party.tracker |= bool(details.get("blocklisted"))
        elif row["kind"] == "third_party":
            party = entry(details)
            party.requests += int(details.get("count") or 0)
            party.what.update(str(tag) for tag in details.get("tags") or [])
        elif row["kind"] == "tracker" and details.get("host"):
            party = entry(details)
            party.tracker = True
            # A tracker's own category (advertising, analytics, …) says more than its host's (cdn, fonts, …).
            party.category = str(details.get("category") or party.category)
        else:
            continue
        party.vendor = party.vendor or str(details.get("vendor") or "")
        party.category = party.category or str(details.get("category") or "")
    return [hosts[host] for host in sorted(hosts) if host]


@dataclass(frozen=True)
class Cookie:
    name: str
    domain: str
    third_party: bool
    lifetime: str
    secure: bool
    http_only: bool
    same_site: str
    set_by: str


def cookies(evidence: Iterable[Row]) -> list[Cookie]:
    """The cookies: the browser's jar after the page settled when there is one, else the Set-Cookie headers."""
    rows = [row for row in evidence if row["kind"] in ("cookie", "browser_cookie")]
    if any(row["kind"] == "browser_cookie" for row in rows):
        rows = [row for row in rows if row["kind"] == "browser_cookie"]
    found = []
    for row in rows:
        details = details_of(row)
        third = details.get("party") == "third" if "party" in details else bool(details.get("third_party"))
        set_by = details.get("setter") or details.get("set_by") or ""
        if row["kind"] == "browser_cookie" and details.get("set_by") in ("header", "script"):
            set_by = f"{details['set_by']}: {set_by or 'unknown'}"
        found.append(
            Cookie(
                text(details.get("name") or "(nameless)", 120), text(details.get("domain") or "", 120), third,
                _lifetime(details), bool(details.get("secure")), bool(details.get("http_only")),
                str(details.get("same_site") or "not set"), text(set_by, 200),
            )
        )  # fmt: skip
    return found


def _lifetime(details: Mapping[str, Any]) -> str:
    if details.get("session"):
        return "session"
    days = details.get("lifetime_days")
    if isinstance(days, int | float):
        return f"{days:g} days"
    max_age = details.get("max_age")
    if isinstance(max_age, int | float):
        return f"{max_age / 86400:.1f} days"
    return text(details.get("expires") or "unknown", 40)


@dataclass(frozen=True)
class Stored:
    origin: str
    area: str
    entries: int
    names: str
    third_party: bool


def storage(evidence: Iterable[Row]) -> list[Stored]:
    found = []
    for row in evidence:
        if row["kind"] != "storage":
            continue
        details = details_of(row)
        found.append(
            Stored(
                text(details.get("origin") or "", 200), str(details.get("area") or ""), int(details.get("count") or 0),
                text(", ".join(str(name) for name in details.get("names") or []), 300),
                details.get("party") == "third",
            )
        )  # fmt: skip
    return found


# What else the browser saw, in the order shown: each kind's rows as a list of findings.
OBSERVED_KINDS = {
    "consent_manager": "Consent manager",
    "fingerprinting": "Fingerprinting",
    "key_logging": "Key logging",
    "session_recording": "Session recording",
}


def observed(evidence: Iterable[Row]) -> list[tuple[str, list[EvidenceView]]]:
    rows = list(evidence)
    shown = []
    for kind, heading in OBSERVED_KINDS.items():
        of_kind = [EvidenceView.of(row) for row in rows if row["kind"] == kind]
        if of_kind:
            shown.append((heading, of_kind))
    return shown


def not_observed(evidence: Iterable[Row]) -> list[str]:
    """What the scan could not see (the coverage row's list), so that silence is not read as a clean bill."""
    for row in evidence:
        if row["kind"] == "coverage":
            return [text(item) for item in details_of(row).get("not_observed") or []]
    return []
