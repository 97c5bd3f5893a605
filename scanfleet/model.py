"""The job and what it produces: one kind, one status, one outcome, one job. Imports nothing of the project.

A job is a privacy scan (`privacy`) or a test run (`checks`); PostgreSQL's `scans` table holds both.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

Kind = Literal["privacy", "checks"]
KINDS: tuple[Kind, ...] = ("privacy", "checks")
# How a privacy scan sees the page: its HTML and headers (http), or the page run in Chromium (browser). Each engine
# is a resource class of its own: its own line in the capacity gate, its own queue, its own workers.
Engine = Literal["http", "browser"]
ENGINES: tuple[Engine, ...] = ("http", "browser")
NOUN: dict[Kind, str] = {"privacy": "scan", "checks": "run"}  # what users call each kind


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (Status.QUEUED, Status.RUNNING)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True)
class Job:
    """One row of `scans`, read by the named columns of COLUMNS: a column a newer migration adds is not read."""

    id: uuid.UUID
    created_at: datetime
    org_id: uuid.UUID
    kind: Kind
    engine: Engine  # a test run's is http
    url: str | None  # a privacy scan's target; None for a test run
    spec: dict[str, Any] | None  # a test run's suite
    status: Status
    attempts: int  # deliveries to a worker; a hand-back gives one back
    retries: int  # transient failures it was sent back for
    started_at: datetime | None
    finished_at: datetime | None
    lease_until: datetime | None
    final_url: str | None
    http_status: int | None
    error_code: str | None
    error_message: str | None
    last_error_code: str | None  # the latest of the transient failures
    last_error_message: str | None
    summary: dict[str, Any] | None
    verdict: str | None  # a test run's: passed, degraded or failed
    deleted_at: datetime | None

    @property
    def etag(self) -> str | None:
        """A finished job never changes again: its id and end time name its content."""
        if not self.status.final or self.finished_at is None:
            return None
        return f'"{self.id}.{int(self.finished_at.timestamp() * 1_000_000)}"'

    @property
    def crashes(self) -> int:
        """Deliveries that ended with the worker gone rather than in a retry."""
        return self.attempts - self.retries

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        values = {name: row[name] for name in COLUMN_NAMES}
        values["status"] = Status(values["status"])
        return cls(**values)


COLUMN_NAMES = tuple(f.name for f in fields(Job))
COLUMNS = ", ".join(COLUMN_NAMES)  # for SELECT and RETURNING


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


@dataclass(frozen=True)
class Attachment:
    """A file a job produced (a screenshot, a HAR, a document): stored as an artifact beside its rows."""

    kind: str  # "screenshot", "har", "document", "dom_snapshot"
    content_type: str
    data: bytes
    step: str | None = None  # the test-run step it belongs to; None for a scan's own

    @cached_property
    def sha256(self) -> str:
        """The hex SHA-256 of `data`, its content address: computed once, for the blob's key and its row."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Outcome:
    """How a job ended, and everything it found: written once, with its final status."""

    status: Status
    final_url: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    domains: list[DomainSeen] = field(default_factory=list)
    verdict: str | None = None  # a test run's: passed, degraded or failed
    attachments: list[Attachment] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        counts = {severity.value: 0 for severity in Severity}
        for issue in self.issues:
            counts[issue.severity.value] += 1
        return {"evidence": len(self.evidence), "issues": counts}

    @classmethod
    def failed(cls, code: str, message: str) -> Outcome:
        return cls(Status.FAILED, error_code=code, error_message=message)
