"""Request and response bodies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, Field

from scanfleet.api.fields import BODY, TargetUrl
from scanfleet.model import Engine, Job

T = TypeVar("T")


EngineField = Annotated[
    Engine,
    Field(description="http: the page's HTML and headers; browser: the page run in Chromium, what it does recorded"),
]


class ScanRequest(BaseModel):
    model_config = BODY
    url: TargetUrl = Field(description="http(s) URL of the page to scan", examples=["https://example.com/"])
    fresh: bool = Field(False, description="scan anew even if a recent scan of this URL could be reused")
    engine: EngineField = "http"


MAX_BATCH = 100


class BatchRequest(BaseModel):
    model_config = BODY
    # Plain strings: each URL is checked on its own, so one bad URL is one bad item, not a refused batch.
    urls: list[str] = Field(min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} URLs")
    fresh: bool = False
    engine: EngineField = "http"


def error_of(code: str | None, message: str | None) -> dict[str, str] | None:
    """An error as the API shows it: {"code", "message"}, or None when there was none."""
    return {"code": code, "message": message or ""} if code else None


class JobOut(BaseModel):
    """What scans and runs share: identity, progress and timings."""

    id: uuid.UUID
    status: str
    status_url: str
    report_url: str = Field(description="its report, for people: one HTML page; ?format=pdf for a PDF")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    attempts: int = Field(description="workers that started it (a worker lost mid-job makes two)")
    retries: int = Field(description="times it was sent back after a transient failure of its target")
    error: dict[str, str] | None
    last_error: dict[str, str] | None = Field(description="the latest transient failure, while it waits to retry")
    artifacts_url: str = Field(description="its artifacts: screenshots, HARs, documents")

    @staticmethod
    def common(job: Job, status_url: str, report_url: str) -> dict[str, Any]:
        duration = (job.finished_at - job.started_at).total_seconds() if job.started_at and job.finished_at else None
        return {
            "id": job.id, "status": job.status.value, "status_url": status_url, "report_url": report_url,
            "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at, "duration_seconds": duration,
            "attempts": job.attempts, "retries": job.retries, "error": error_of(job.error_code, job.error_message),
            "last_error": error_of(job.last_error_code, job.last_error_message),
            "artifacts_url": f"{status_url}/artifacts",
        }  # fmt: skip


class ScanOut(JobOut):
    url: str
    engine: Engine
    final_url: str | None
    http_status: int | None
    summary: dict[str, Any] | None
    reused: str | None = Field(
        None, description="in_flight: this URL was already being scanned; recent: a scan finished moments ago"
    )

    @classmethod
    def of(cls, scan: Job, status_url: str, report_url: str, reused: str | None = None) -> ScanOut:
        return cls(
            **cls.common(scan, status_url, report_url), url=scan.url or "", engine=scan.engine,
            final_url=scan.final_url, http_status=scan.http_status, summary=scan.summary, reused=reused,
        )  # fmt: skip


class BatchItem(BaseModel):
    url: str
    outcome: str = Field(description="accepted | reused | rejected (error.code says why) | invalid (the URL)")
    scan: ScanOut | None = None
    error: dict[str, Any] | None = None


class BatchOut(BaseModel):
    items: list[BatchItem]


class EvidenceOut(BaseModel):
    seq: int
    kind: str
    severity: str
    title: str
    details: dict[str, Any]
    location: str | None


class IssueOut(BaseModel):
    seq: int
    code: str
    severity: str
    title: str
    explanation: str
    evidence: list[int]


class ArtifactOut(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="screenshot, har, document or dom_snapshot")
    content_type: str
    size: int = Field(description="bytes")
    sha256: str = Field(description="of the content: the same bytes are stored once per organisation")
    step: str | None = Field(description="the test run's step it belongs to; null for a scan's own")
    created_at: datetime
    url: str = Field(description="GET it with the API key: the content, or a redirect to a short-lived link")


class Page(BaseModel, Generic[T]):
    """Every list: a page of items, and the cursor of the next page."""

    items: list[T]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class HasId(Protocol):
    @property
    def id(self) -> uuid.UUID | int: ...


def next_id(found: Sequence[HasId], limit: int) -> str | None:
    """The cursor after a page of rows listed by id: the last one's, unless the page came up short."""
    return str(found[-1].id) if len(found) == limit else None
