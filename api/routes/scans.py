"""/v1/scans: submit privacy scans (one or a batch), follow them, read and filter their results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from scanfleet import urls
from scanfleet.api import caching
from scanfleet.api import jobs as jobs_view
from scanfleet.api.admission import answering_refusals, context, refusal
from scanfleet.api.caching import NOT_MODIFIED
from scanfleet.api.deps import PrincipalDep, Resources, ResourcesDep
from scanfleet.api.errors import QUEUE_FULL
from scanfleet.api.fields import IdCursor, NulFree, SeqCursor
from scanfleet.api.idempotent import IDEMPOTENCY, IN_USE, idempotent
from scanfleet.api.jobs import EvidenceKind, Limit, Severity
from scanfleet.api.links import link
from scanfleet.api.responses import ModelResponse
from scanfleet.api.schemas import (
    BatchItem,
    BatchOut,
    BatchRequest,
    EvidenceOut,
    IssueOut,
    Page,
    ScanOut,
    ScanRequest,
    next_id,
)
from scanfleet.db import scans
from scanfleet.db.api_keys import Principal
from scanfleet.lifecycle import GateUnavailable, NotMade, Refused
from scanfleet.model import Engine, Job

router = APIRouter(prefix="/v1/scans", tags=["scans"])


def _out(request: Request, scan: Job, reused: str | None = None) -> ScanOut:
    scan_id = str(scan.id)
    return ScanOut.of(
        scan, link(request, "get_scan", scan_id=scan_id), link(request, "scan_report", scan_id=scan_id), reused
    )


async def _submit_one(
    request: Request, res: Resources, principal: Principal, url: str, engine: Engine, fresh: bool
) -> tuple[int, ScanOut]:
    """202 and a new scan, or 200 and the scan reused (the same engine's, in flight; or recent, unless `fresh`)."""
    reuse_seconds = 0.0 if fresh else res.settings.scan_reuse_seconds
    async with answering_refusals():
        scan, reused = await res.lifecycle.submit_scan(
            principal.org_id, principal.limits, url, engine, reuse_seconds, context(principal)
        )
    return (202 if reused is None else 200), _out(request, scan, reused)


@router.post(
    "", status_code=202, response_model=ScanOut, summary="Submit a privacy scan", description=IDEMPOTENCY,
    responses={200: {"model": ScanOut, "description": "an in-flight or recent scan of this URL, reused"},
               **IN_USE, **QUEUE_FULL},
)  # fmt: skip
async def submit_scan(body: ScanRequest, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    async def answer() -> JSONResponse:
        status, out = await _submit_one(request, res, principal, body.url, body.engine, body.fresh)
        return ModelResponse(out, status_code=status, headers={"Location": out.status_url})

    return await idempotent(request, res, principal, answer)


@router.post(
    "/batch", response_model=BatchOut, summary="Submit many URLs; each gets its own outcome", description=IDEMPOTENCY,
    responses=IN_USE,
)  # fmt: skip
async def submit_batch(body: BatchRequest, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    async def answer() -> JSONResponse:
        targets: dict[int, str] = {}  # by place in the request: the URLs that are valid
        invalid: dict[int, BatchItem] = {}
        for place, url in enumerate(body.urls):
            try:
                targets[place] = urls.normalise_target(url)
            except urls.InvalidUrl as exc:
                error = {"code": "validation_error", "rule": exc.rule, "message": exc.message}
                # Echoed as given, but a lone surrogate (no UTF-8 has it) as its \udxxx escape.
                shown = url.encode("utf-8", "backslashreplace").decode()
                invalid[place] = BatchItem(url=shown, outcome="invalid", error=error)
        reuse_seconds = 0.0 if body.fresh else res.settings.scan_reuse_seconds
        outcomes = await res.lifecycle.submit_scans(
            principal.org_id, principal.limits, list(targets.values()), body.engine, reuse_seconds, context(principal)
        )
        made = zip(targets, outcomes, strict=True)
        answered = invalid | {place: _batch_item(request, body.urls[place], outcome) for place, outcome in made}
        items = [answered[place] for place in range(len(body.urls))]
        return JSONResponse(BatchOut(items=items).model_dump(mode="json"))

    return await idempotent(request, res, principal, answer)


def _batch_item(
    request: Request, url: str, outcome: tuple[Job, str | None] | Refused | GateUnavailable | NotMade
) -> BatchItem:
    if isinstance(outcome, Refused | GateUnavailable | NotMade):  # each URL goes through the gate on its own
        exc = refusal(outcome)
        return BatchItem(url=url, outcome="rejected", error={"code": exc.code, "message": exc.message,
                                                             **(exc.details or {})})  # fmt: skip
    scan, reused = outcome
    return BatchItem(url=url, outcome="accepted" if reused is None else "reused", scan=_out(request, scan, reused))


@router.get("", response_model=Page[ScanOut], summary="List the organisation's scans, newest first")
async def list_scans(
    request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 50, cursor: IdCursor = None
) -> Page[ScanOut]:
    # The replica: a scan submitted within its lag may be missing from the list for that long.
    found = await scans.list_for_org(res.reads, principal.org_id, cursor, limit)
    return Page[ScanOut](items=[_out(request, scan) for scan in found], next_cursor=next_id(found, limit))


@router.get(
    "/{scan_id}", response_model=ScanOut, name="get_scan", summary="A scan's status and timings",
    responses=NOT_MODIFIED,
)  # fmt: skip
async def get_scan(scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    scan = await jobs_view.job_of(res, principal.org_id, scan_id, "privacy")
    return caching.respond(request, scan.etag, _out(request, scan))


@router.delete(
    "/{scan_id}", response_model=ScanOut, summary="Cancel a queued or running scan; hide a finished one",
    responses={204: {"description": "the finished scan is hidden at once and purged later"}},
)  # fmt: skip
async def delete_scan(scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    scan = await jobs_view.job_of(res, principal.org_id, scan_id, "privacy")
    return await jobs_view.delete(res, principal, scan, lambda cancelled: _out(request, cancelled))


@router.get("/{scan_id}/evidence", response_model=Page[EvidenceOut], summary="A scan's evidence rows")
async def list_evidence(
    scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100,
    cursor: SeqCursor = None, kind: EvidenceKind = None, severity: Severity = None,
) -> Response:  # fmt: skip
    return await jobs_view.evidence_page(request, res, principal, scan_id, "privacy", limit, cursor, kind, severity)


@router.get("/{scan_id}/issues", response_model=Page[IssueOut], summary="A scan's issues")
async def list_issues(
    scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100,
    cursor: SeqCursor = None, code: Annotated[str | None, Query(max_length=64), NulFree] = None,
    severity: Severity = None,
) -> Response:  # fmt: skip
    filters = {"code": code, "severity": severity}
    return await jobs_view.results_page(
        request, res, principal, scan_id, "privacy", IssueOut, "issues", limit, cursor, filters
    )
