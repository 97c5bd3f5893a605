"""What a job produces: evidence rows, issues, and the final outcome written with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class ScanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (ScanStatus.QUEUED, ScanStatus.RUNNING)


@dataclass(frozen=True)
class Evidence:
    kind: str  # e.g. "redirect", "cookie", "security_header", "third_party"
    severity: Severity
    title: str
    details: dict[str, Any]
    location: str | None = None  # the URL (or URL#selector) where it was seen


@dataclass(frozen=True)
class Issue:
    code: str
    severity: Severity
    title: str
    explanation: str
    evidence: tuple[int, ...] = ()  # indexes into the outcome's evidence list


@dataclass(frozen=True)
class DomainSeen:
    """A third-party registrable domain the page referenced; indexed so scans can be found by it."""

    domain: str
    tracker: bool = False
    vendor: str | None = None


@dataclass
class Outcome:
    status: ScanStatus
    final_url: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    domains: list[DomainSeen] = field(default_factory=list)
    verdict: str | None = None  # a test run's: passed, degraded or failed

    def summary(self) -> dict[str, Any]:
        counts = {severity.value: 0 for severity in Severity}
        for issue in self.issues:
            counts[issue.severity.value] += 1
        return {"evidence": len(self.evidence), "issues": counts}


def workers_lost(max_tries: int) -> Outcome:
    """The end of a job whose worker died with it every time: a job must not crash the fleet forever."""
    return Outcome(
        ScanStatus.FAILED,
        error_code="attempts_exhausted",
        error_message=f"the job's worker stopped {max_tries} times before finishing it",
    )
