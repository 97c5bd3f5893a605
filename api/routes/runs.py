"""/v1/runs: test runs — a suite of HTTP/TLS/TCP/heartbeat/browser checks with assertions — and their results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from scanfleet.api import caching
from scanfleet.api import jobs as jobs_view
from scanfleet.api.admission import answering_refusals, context
from scanfleet.api.caching import NOT_MODIFIED
from scanfleet.api.deps import PrincipalDep, ResourcesDep
from scanfleet.api.errors import QUEUE_FULL, ApiError
from scanfleet.api.fields import IdCursor, SeqCursor
from scanfleet.api.idempotent import IDEMPOTENCY, IN_USE, idempotent
from scanfleet.api.jobs import EvidenceKind, Limit, Severity
from scanfleet.api.links import link
from scanfleet.api.schemas import EvidenceOut, JobOut, Page, next_id
from scanfleet.checks import SuiteError, issue_path, parse_suite
from scanfleet.db import scans
from scanfleet.model import Job

router = APIRouter(prefix="/v1/runs", tags=["runs"])


class RunOut(JobOut):
    # status: succeeded means the checks ran (failed: they could not); the verdict is what they found.
    name: str
    verdict: str | None = Field(description="passed, degraded or failed; null until the run ends")
    steps: int

    @classmethod
    def of(cls, request: Request, run: Job) -> RunOut:
        spec = run.spec or {}
        run_id = str(run.id)
        status_url, report_url = link(request, "get_run", run_id=run_id), link(request, "run_report", run_id=run_id)
        return cls(
            **cls.common(run, status_url, report_url), name=spec.get("name", "run"), verdict=run.verdict,
            steps=len(spec.get("steps", [])),
        )  # fmt: skip


def _suite_errors(exc: SuiteError) -> ApiError:
    fields = [
        {"field": issue_path(e) or "body", "rule": e["rule"], "message": e["message"], "step": e["step"]}
        for e in exc.errors
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return ApiError(422, "invalid_suite", summary, fields=fields)


@router.post(
    "", status_code=202, response_model=RunOut, summary="Run a suite of checks", description=IDEMPOTENCY,
    responses={**IN_USE, **QUEUE_FULL},
)  # fmt: skip
async def submit_run(
    request: Request, res: ResourcesDep, principal: PrincipalDep,
    suite: Annotated[dict[str, Any], Body(description="the suite: name, variables, steps")],
) -> Response:  # fmt: skip
    async def answer() -> JSONResponse:
        try:
            parsed = parse_suite(suite)  # refused before anything is queued
        except SuiteError as exc:
            raise _suite_errors(exc) from None
        async with answering_refusals():
            run = await res.lifecycle.submit_run(
                principal.org_id, principal.limits, parsed.model_dump(mode="json"), context(principal)
            )
        out = RunOut.of(request, run)
        return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.status_url})

    return await idempotent(request, res, principal, answer)


@router.get("", response_model=Page[RunOut], summary="The organisation's runs, newest first")
async def list_runs(
    request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 50, cursor: IdCursor = None
) -> Page[RunOut]:
    # The replica, as for the list of scans.
    found = await scans.list_for_org(res.reads, principal.org_id, cursor, limit, "checks")
    return Page[RunOut](items=[RunOut.of(request, run) for run in found], next_cursor=next_id(found, limit))


@router.get(
    "/{run_id}", response_model=RunOut, name="get_run", summary="A run's status, verdict and timings",
    responses=NOT_MODIFIED,
)  # fmt: skip
async def get_run(run_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    run = await jobs_view.job_of(res, principal.org_id, run_id, "checks")
    return caching.respond(request, run.etag, RunOut.of(request, run))


@router.get(
    "/{run_id}/results", response_model=Page[EvidenceOut],
    summary="Per step and per assertion: pass/fail, actual values, timings, response snapshots",
)  # fmt: skip
async def run_results(
    run_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100,
    cursor: SeqCursor = None, kind: EvidenceKind = None, severity: Severity = None,
) -> Response:  # fmt: skip
    return await jobs_view.evidence_page(request, res, principal, run_id, "checks", limit, cursor, kind, severity)


@router.delete(
    "/{run_id}", response_model=RunOut, summary="Cancel a queued or running run; hide a finished one",
    responses={204: {"description": "the finished run is hidden at once and purged later"}},
)  # fmt: skip
async def delete_run(run_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Response:
    run = await jobs_view.job_of(res, principal.org_id, run_id, "checks")
    return await jobs_view.delete(res, principal, run, lambda cancelled: RunOut.of(request, cancelled))
