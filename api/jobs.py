"""What scans and test runs share over HTTP: lookup, cursors, result pages, cancel and delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

import asyncpg
from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from scanfleet import ids
from scanfleet.api import caching
from scanfleet.api.deps import Resources
from scanfleet.api.errors import not_found
from scanfleet.api.fields import NulFree
from scanfleet.api.schemas import EvidenceOut, IssueOut, Page
from scanfleet.db import results, scans
from scanfleet.db.api_keys import Principal
from scanfleet.model import NOUN, Job, Kind

ResultT = TypeVar("ResultT", EvidenceOut, IssueOut)

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
EvidenceKind = Annotated[str | None, Query(max_length=64, description="only evidence of this kind"), NulFree]
Severity = Annotated[
    Literal["critical", "high", "medium", "low", "info"] | None, Query(description="only this severity")
]


async def job_of(res: Resources, org_id: uuid.UUID, job_id: str, kind: Kind) -> Job:
    # The primary: a job is followed from the moment its submit answers, and its status never goes back.
    parsed = ids.parse(job_id)
    found = await scans.get(res.pool, org_id, parsed, kind) if parsed else None
    if found is None:  # another org's job is indistinguishable from no job
        raise not_found(NOUN[kind])
    return found


async def results_source(res: Resources, org_id: uuid.UUID, job_id: str, kind: Kind) -> tuple[Job, asyncpg.Pool]:
    """The job, and the pool to read its results from.

    The replica when its copy of the job is final: a finished job's results never change, and they arrive with
    its final status in one replicated transaction. Otherwise the primary, which may have finished it already.
    """
    parsed = ids.parse(job_id)
    if parsed is not None and res.read_pool is not None:
        replicated = await scans.get(res.read_pool, org_id, parsed, kind)
        if replicated is not None and replicated.status.final:
            return replicated, res.read_pool
    return await job_of(res, org_id, job_id, kind), res.pool


async def results_page(
    request: Request, res: Resources, principal: Principal, job_id: str, kind_of_job: Kind, model: type[ResultT],
    table: results.Table, limit: int, cursor: int | None, filters: dict[str, str | None],
) -> Response:  # fmt: skip
    job, source = await results_source(res, principal.org_id, job_id, kind_of_job)
    after = -1 if cursor is None else cursor
    rows = await results.list_results(source, table, principal.org_id, job.id, after, limit, filters)
    page = Page[model](  # type: ignore[valid-type]
        items=[model(**dict(row)) for row in rows], next_cursor=str(rows[-1]["seq"]) if len(rows) == limit else None
    )
    return caching.respond(request, job.etag, page, vary_on_query=True)


async def evidence_page(
    request: Request, res: Resources, principal: Principal, job_id: str, kind_of_job: Kind, limit: int,
    cursor: int | None, kind: str | None, severity: str | None,
) -> Response:  # fmt: skip
    filters = {"kind": kind, "severity": severity}
    return await results_page(
        request, res, principal, job_id, kind_of_job, EvidenceOut, "evidence", limit, cursor, filters
    )


async def delete(res: Resources, principal: Principal, job: Job, out: Callable[[Job], BaseModel]) -> Response:
    """Queued or running: cancel it (200 and the job). Finished: hide it at once (204); upkeep purges it."""
    if not job.status.final:
        cancelled = await res.lifecycle.cancel(principal.org_id, job.id)
        if cancelled is not None:
            return JSONResponse(out(cancelled).model_dump(mode="json"))
    # Finished (or it finished meanwhile).
    if not await scans.soft_delete(res.pool, principal.org_id, job.id):
        raise not_found(NOUN[job.kind])
    return Response(status_code=204)
