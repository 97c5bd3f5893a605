"""/v1/scans: submit privacy scans (one or a batch), follow them, read and filter their results."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from api import caching
from api.admission import admit, withdraw
from api.deps import PrincipalDep, Resources, ResourcesDep
from api.errors import ApiError, invalid, not_found
from api.idempotent import idempotent
from api.schemas import BatchItem, BatchOut, BatchRequest, EvidenceOut, IssueOut, Page, ScanOut, ScanRequest
from scanfleet import ids, jobs, urls
from scanfleet.db import results, scans
from scanfleet.db.api_keys import Principal
from scanfleet.db.scans import Scan

ResultT = TypeVar("ResultT", EvidenceOut, IssueOut)

router = APIRouter(prefix="/v1/scans", tags=["scans"])

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
Severity = Annotated[
    Literal["critical", "high", "medium", "low", "info"] | None, Query(description="only this severity")
]


def _out(request: Request, scan: Scan, reused: str | None = None) -> ScanOut:
    return ScanOut.of(scan, str(request.url_for("get_scan", scan_id=str(scan.id))), reused)


async def _scan_of(res: ResourcesDep, principal: PrincipalDep, scan_id: str) -> Scan:
    parsed = ids.parse(scan_id)
    scan = await scans.get(res.pool, principal.org_id, parsed) if parsed else None
    if scan is None:  # another org's scan is indistinguishable from no scan
        raise not_found("scan")
    return scan


def _bad_cursor() -> ApiError:
    return invalid("cursor", "cursor_invalid", "not a cursor this API gave out")


def _seq_cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    if not cursor.isdigit():
        raise _bad_cursor()
    return int(cursor)


async def _submit_one(
    request: Request, res: Resources, principal: Principal, url: str, fresh: bool
) -> tuple[int, ScanOut]:
    """202 and a new scan, or 200 and the scan reused. The row comes first, so a worker that starts the
    job at once finds it; if the gate refuses the job, the row goes again and nothing of it stays runnable."""
    scan, reused = await scans.submit(res.pool, principal.org_id, url, res.settings.scan_reuse_seconds, fresh)
    if reused is not None:
        return 200, _out(request, scan, reused)
    await admit(res, principal, scan.id, lambda: scans.delete_unadmitted(res.pool, scan))
    return 202, _out(request, scan)


@router.post(
    "", status_code=202, response_model=ScanOut, summary="Submit a privacy scan",
    responses={200: {"model": ScanOut, "description": "an in-flight or recent scan of this URL, reused"}},
)  # fmt: skip
async def submit_scan(body: ScanRequest, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    async def answer() -> JSONResponse:
        status, out = await _submit_one(request, res, principal, body.url, body.fresh)
        return JSONResponse(out.model_dump(mode="json"), status_code=status, headers={"Location": out.status_url})

    return await idempotent(request, res, principal, answer)


@router.post("/batch", response_model=BatchOut, summary="Submit many URLs; each gets its own outcome")
async def submit_batch(body: BatchRequest, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    async def answer() -> JSONResponse:
        items = [await _batch_item(request, res, principal, url, body.fresh) for url in body.urls]
        return JSONResponse(BatchOut(items=items).model_dump(mode="json"))

    return await idempotent(request, res, principal, answer)


async def _batch_item(request: Request, res: Resources, principal: Principal, url: str, fresh: bool) -> BatchItem:
    try:
        target = urls.normalise_target(url)
    except urls.InvalidUrl as exc:
        return BatchItem(url=url, outcome="invalid", error={"code": "validation_error", "rule": exc.rule,
                                                            "message": exc.message})  # fmt: skip
    try:
        status, out = await _submit_one(request, res, principal, target, fresh)
    except ApiError as exc:  # each URL goes through the gate on its own: a full queue refuses the rest
        return BatchItem(url=url, outcome="rejected", error={"code": exc.code, "message": exc.message,
                                                             **(exc.details or {})})  # fmt: skip
    return BatchItem(url=url, outcome="accepted" if status == 202 else "reused", scan=out)


@router.get("", response_model=Page[ScanOut], summary="List the organisation's scans, newest first")
async def list_scans(
    request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[ScanOut]:
    before: uuid.UUID | None = None
    if cursor is not None:
        before = ids.parse(cursor)
        if before is None:
            raise _bad_cursor()
    found = await scans.list_for_org(res.pool, principal.org_id, before, limit)
    next_cursor = str(found[-1].id) if len(found) == limit else None
    return Page[ScanOut](items=[_out(request, scan) for scan in found], next_cursor=next_cursor)


@router.get("/{scan_id}", response_model=ScanOut, name="get_scan", summary="A scan's status and timings")
async def get_scan(scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    scan = await _scan_of(res, principal, scan_id)
    return caching.respond(request, scan.etag, _out(request, scan))


@router.delete(
    "/{scan_id}", response_model=ScanOut, summary="Cancel a queued or running scan; hide a finished one",
    responses={204: {"description": "the finished scan is hidden at once and purged later"}},
)  # fmt: skip
async def delete_scan(scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    scan = await _scan_of(res, principal, scan_id)
    if scan.status.final:
        if not await scans.soft_delete(res.pool, principal.org_id, scan.id):
            raise not_found("scan")
        return Response(status_code=204)
    cancelled = await scans.cancel(res.pool, principal.org_id, scan.id)
    if cancelled is None:  # it ended meanwhile: hide it like any finished scan
        await scans.soft_delete(res.pool, principal.org_id, scan.id)
        return Response(status_code=204)
    await withdraw(res, jobs.job_id(scan.id))
    return JSONResponse(_out(request, cancelled).model_dump(mode="json"))


async def _results_page(
    model: type[ResultT], table: results.Table, scan_id: str, request: Request, res: ResourcesDep,
    principal: PrincipalDep, limit: int, cursor: str | None, filters: dict[str, str | None],
) -> Response:  # fmt: skip
    scan = await _scan_of(res, principal, scan_id)
    rows = await results.list_results(res.pool, table, principal.org_id, scan.id, _seq_cursor(cursor), limit, filters)
    page = Page[model](  # type: ignore[valid-type]
        items=[model(**dict(row)) for row in rows], next_cursor=str(rows[-1]["seq"]) if len(rows) == limit else None
    )
    return caching.respond(request, scan.etag, page, vary_on_query=True)


@router.get("/{scan_id}/evidence", response_model=Page[EvidenceOut], summary="A scan's evidence rows")
async def list_evidence(
    scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100,
    cursor: Cursor = None, kind: Annotated[str | None, Query(max_length=64)] = None, severity: Severity = None,
) -> Response:  # fmt: skip
    filters = {"kind": kind, "severity": severity}
    return await _results_page(EvidenceOut, "evidence", scan_id, request, res, principal, limit, cursor, filters)


@router.get("/{scan_id}/issues", response_model=Page[IssueOut], summary="A scan's issues")
async def list_issues(
    scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100,
    cursor: Cursor = None, code: Annotated[str | None, Query(max_length=64)] = None, severity: Severity = None,
) -> Response:  # fmt: skip
    filters = {"code": code, "severity": severity}
    return await _results_page(IssueOut, "issues", scan_id, request, res, principal, limit, cursor, filters)
