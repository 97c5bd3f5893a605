"""Reports: a scan's or a run's results as one HTML page (or its PDF), and share links that serve it without a key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from scanfleet import __version__
from scanfleet.api import caching, ratelimit
from scanfleet.api import jobs as jobs_view
from scanfleet.api.caching import NOT_MODIFIED
from scanfleet.api.deps import PrincipalDep, Resources, ResourcesDep
from scanfleet.api.errors import RETRY_AFTER_SECONDS, ApiError, documented, invalid, not_found
from scanfleet.api.links import link
from scanfleet.artifacts import StoreUnavailable, blob_key
from scanfleet.artifacts.blobs import BlobMissing
from scanfleet.db import artifacts, results
from scanfleet.model import NOUN, Job, Kind
from scanfleet.reports import POLICY, PdfUnavailable, run_report, scan_report, share
from scanfleet.reports.render import SCREENSHOT_MAX_BYTES, Screenshot, ScreenshotTooLarge

router = APIRouter(tags=["reports"])

Format = Annotated[Literal["html", "pdf"], Query(description="html: one self-contained page; pdf: it, printed")]
_REPORT: dict[int | str, dict[str, Any]] = {
    200: {"description": "the report", "content": {"text/html": {}, "application/pdf": {}}},
    **NOT_MODIFIED,
    **documented(503, "as every call; also no PDF now (`pdf_unavailable`: no browser on this server; `pdf_busy`:"
                      " not printed in time, with `Retry-After`)"),
}  # fmt: skip
_SHARING_OFF = documented(403, "sharing is off: SCANFLEET_REPORT_SHARE_SECRET is not set (`sharing_disabled`)")
# The page loads nothing, is framed by nobody, and its address goes nowhere with a click.
_HEADERS = {
    "Content-Security-Policy": f"{POLICY}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-cache",  # revalidated with its ETag: a deleted job's report stops being served
}
SHARE_DEFAULT_SECONDS = 7 * 86400


async def screenshot_of(res: Resources, source: asyncpg.Pool, job: Job) -> Screenshot:
    """The job's own screenshot (a scan's page; a run's first failed step), for its report. None when it has none
    or the store cannot give it now: the report is still worth reading without its picture. One past
    SCREENSHOT_MAX_BYTES is not read at all: the report says it is too large."""
    shots = [item for item in await artifacts.of_job(source, job.org_id, job.id) if item.kind == "screenshot"]
    if not shots:
        return None
    if shots[0].size > SCREENSHOT_MAX_BYTES:
        return ScreenshotTooLarge(shots[0].size)
    try:
        return b"".join([chunk async for chunk in res.artifacts.read(blob_key(job.org_id, shots[0].sha256))])
    except (StoreUnavailable, BlobMissing):
        return None


async def _report(request: Request, res: Resources, org_id: uuid.UUID, job_id: str, kind: Kind, fmt: str) -> Response:
    job, source = await jobs_view.results_source(res, org_id, job_id, kind)
    etag = caching.variant(job.etag, f"report-{fmt}-{__version__}")  # a new release may draw it anew
    unchanged = caching.not_modified(request, etag)
    if unchanged is not None:
        return unchanged

    async def render() -> str:
        evidence = [dict(row) for row in await results.all_results(source, "evidence", org_id, job.id)]
        screenshot = await screenshot_of(res, source, job)
        now = datetime.now(UTC)
        if kind == "privacy":
            issues = [dict(row) for row in await results.all_results(source, "issues", org_id, job.id)]
            return scan_report(job, evidence, issues, screenshot, now)
        return run_report(job, evidence, screenshot, now)

    headers = {**_HEADERS, **({"ETag": etag} if etag else {})}
    if fmt == "html":
        return Response(await render(), media_type="text/html; charset=utf-8", headers=headers)
    try:
        # Rendered once the printer has a slot: requests queued for it hold no evidence and no screenshot.
        pdf = await res.printer.render_and_print(render)
    except PdfUnavailable as exc:
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.code == "pdf_busy" else None
        raise ApiError(503, exc.code, exc.message, retry) from None
    disposition = f'inline; filename="scanfleet-{NOUN[kind]}-{job.id}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={**headers, "Content-Disposition": disposition})


@router.get(
    "/v1/scans/{scan_id}/report", name="scan_report", summary="A scan's report: one HTML page, or a PDF",
    response_class=Response, responses=_REPORT,
)  # fmt: skip
async def get_scan_report(
    scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, format: Format = "html"
) -> Response:
    return await _report(request, res, principal.org_id, scan_id, "privacy", format)


@router.get(
    "/v1/runs/{run_id}/report", name="run_report", summary="A run's report: one HTML page, or a PDF",
    response_class=Response, responses=_REPORT,
)  # fmt: skip
async def get_run_report(
    run_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, format: Format = "html"
) -> Response:
    return await _report(request, res, principal.org_id, run_id, "checks", format)


class ShareRequest(BaseModel):
    expires_in_seconds: int = Field(
        SHARE_DEFAULT_SECONDS, ge=60, description="how long the link works; at most SCANFLEET_REPORT_SHARE_MAX_SECONDS"
    )


class ShareOut(BaseModel):
    url: str = Field(description="the report, for anyone with this address until it expires; no API key needed")
    expires_at: datetime


def _secret(res: Resources) -> str | None:
    secret = res.settings.report_share_secret
    return secret.get_secret_value() if secret else None


async def _share(
    request: Request, res: Resources, org_id: uuid.UUID, job_id: str, kind: Kind, body: ShareRequest
) -> ShareOut:
    secret = _secret(res)
    if secret is None:
        raise ApiError(403, "sharing_disabled", "sharing is off here: SCANFLEET_REPORT_SHARE_SECRET is not set")
    longest, seconds = res.settings.report_share_max_seconds, body.expires_in_seconds
    if seconds > longest:
        raise invalid("expires_in_seconds", "less_than_equal", f"Input should be less than or equal to {longest}")
    job = await jobs_view.job_of(res, org_id, job_id, kind)
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
    token = share.sign(secret, share.Share(kind, job.id, org_id, expires_at))
    return ShareOut(url=link(request, "shared_report", token=token), expires_at=expires_at)


@router.post(
    "/v1/scans/{scan_id}/share", status_code=201, response_model=ShareOut, responses=_SHARING_OFF,
    summary="A link to the scan's report that works without an API key until it expires",
)  # fmt: skip
async def share_scan(
    scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, body: ShareRequest | None = None
) -> ShareOut:
    return await _share(request, res, principal.org_id, scan_id, "privacy", body or ShareRequest())


@router.post(
    "/v1/runs/{run_id}/share", status_code=201, response_model=ShareOut, responses=_SHARING_OFF,
    summary="A link to the run's report that works without an API key until it expires",
)  # fmt: skip
async def share_run(
    run_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, body: ShareRequest | None = None
) -> ShareOut:
    return await _share(request, res, principal.org_id, run_id, "checks", body or ShareRequest())


@router.get(
    "/v1/shared/{token}", name="shared_report", response_class=Response,
    summary="A shared report (no API key: the token is the credential)",
    responses={
        **_REPORT, **documented(410, "the share link has expired (`share_expired`)"),
        **documented(429, "the link's requests per minute are spent (`rate_limited`, with `Retry-After`)"),
    },
)  # fmt: skip
async def shared_report(
    token: Annotated[str, Path(max_length=512)], request: Request, res: ResourcesDep, format: Format = "html"
) -> Response:
    secret = _secret(res)
    try:
        if secret is None:
            raise share.ShareInvalid
        shared = share.verify(secret, token, datetime.now(UTC))
    except share.ShareInvalid:
        raise not_found("share link") from None
    except share.ShareExpired as exc:
        raise ApiError(410, "share_expired", str(exc)) from None
    # No API key, so no key's allowance: each link has its own, so one leaked link cannot drive the printer.
    per_minute = res.settings.report_share_requests_per_minute
    decision = await res.share_limiter.hit(ratelimit.share_key(token), per_minute)
    ratelimit.remember(request, decision.headers())
    if not decision.allowed:
        raise ApiError(
            429, "rate_limited", f"a share link allows {per_minute} requests per minute", decision.headers(),
            details={"limit": "report_share_requests_per_minute"},
        )  # fmt: skip
    return await _report(request, res, shared.org_id, str(shared.job_id), shared.kind, format)
