"""/v1/scans: submit a privacy scan, follow it, read its evidence and issues."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Query, Request, Response

from api.admission import admit, withdraw
from api.deps import PrincipalDep, ResourcesDep
from api.errors import ApiError, not_found
from api.schemas import EvidenceOut, IssueOut, Page, ScanOut, ScanRequest
from scanfleet import ids, jobs
from scanfleet.db import scans
from scanfleet.db.scans import Scan

ResultT = TypeVar("ResultT", EvidenceOut, IssueOut)

router = APIRouter(prefix="/v1/scans", tags=["scans"])

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def _out(request: Request, scan: Scan) -> ScanOut:
    return ScanOut.of(scan, str(request.url_for("get_scan", scan_id=str(scan.id))))


async def _scan_of(res: ResourcesDep, principal: PrincipalDep, scan_id: str) -> Scan:
    parsed = ids.parse(scan_id)
    scan = await scans.get(res.pool, principal.org_id, parsed) if parsed else None
    if scan is None:  # another org's scan is indistinguishable from no scan
        raise not_found("scan")
    return scan


def _bad_cursor() -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "cursor: not a cursor this API gave out",
        fields=[{"field": "cursor", "rule": "cursor_invalid", "message": "unknown cursor"}],
    )


def _seq_cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    if not cursor.isdigit():
        raise _bad_cursor()
    return int(cursor)


@router.post("", status_code=202, response_model=ScanOut, summary="Submit a privacy scan")
async def submit_scan(
    body: ScanRequest, request: Request, response: Response, res: ResourcesDep, principal: PrincipalDep
) -> ScanOut:
    # The row comes first, so a worker that starts the job at once finds it; if the gate refuses the job,
    # the row goes again and nothing of it stays runnable.
    scan = await scans.insert(res.pool, principal.org_id, body.url)
    await admit(res, principal, scan.id, lambda: scans.delete_unadmitted(res.pool, scan))
    out = _out(request, scan)
    response.headers["Location"] = out.status_url
    return out


@router.delete("/{scan_id}", response_model=ScanOut, summary="Cancel a queued or running scan")
async def cancel_scan(scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> ScanOut:
    scan = await _scan_of(res, principal, scan_id)
    cancelled = await scans.cancel(res.pool, principal.org_id, scan.id)
    if cancelled is None:
        raise ApiError(409, "scan_finished", f"the scan already ended: {scan.status.value}")
    await withdraw(res, jobs.scan_job_id(scan.id))
    return _out(request, cancelled)


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
async def get_scan(scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> ScanOut:
    return _out(request, await _scan_of(res, principal, scan_id))


async def _results_page(
    model: type[ResultT],
    table: Literal["evidence", "issues"],
    scan_id: str,
    res: ResourcesDep,
    principal: PrincipalDep,
    limit: int,
    cursor: str | None,
) -> Page[ResultT]:
    scan = await _scan_of(res, principal, scan_id)
    rows = await scans.list_results(res.pool, table, principal.org_id, scan.id, _seq_cursor(cursor), limit)
    items = [model(**dict(row)) for row in rows]
    return Page[model](items=items, next_cursor=str(rows[-1]["seq"]) if len(rows) == limit else None)  # type: ignore[valid-type]


@router.get("/{scan_id}/evidence", response_model=Page[EvidenceOut], summary="A scan's evidence rows")
async def list_evidence(
    scan_id: str, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100, cursor: Cursor = None
) -> Page[EvidenceOut]:
    return await _results_page(EvidenceOut, "evidence", scan_id, res, principal, limit, cursor)


@router.get("/{scan_id}/issues", response_model=Page[IssueOut], summary="A scan's issues")
async def list_issues(
    scan_id: str, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100, cursor: Cursor = None
) -> Page[IssueOut]:
    return await _results_page(IssueOut, "issues", scan_id, res, principal, limit, cursor)
