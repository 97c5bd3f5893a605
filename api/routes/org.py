"""/v1/org: the caller's organisation erases its data (GDPR right to erasure) and follows the erase."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from scanfleet.api.deps import PrincipalDep, ResourcesDep
from scanfleet.api.errors import not_found
from scanfleet.api.links import link
from scanfleet.db import erase
from scanfleet.db.erase import EraseRequest, Status

router = APIRouter(prefix="/v1/org", tags=["organisation"])


class ErasureOut(BaseModel):
    id: uuid.UUID
    status: Status
    status_url: str
    requested_at: datetime = Field(description="what the organisation had recorded before this goes")
    started_at: datetime | None
    finished_at: datetime | None
    erased: dict[str, int] = Field(description="rows removed so far, per table")


def _out(request: Request, req: EraseRequest) -> ErasureOut:
    status_url = link(request, "get_erasure", erasure_id=str(req.id))
    return ErasureOut(
        id=req.id, status=req.status, status_url=status_url, requested_at=req.requested_at,
        started_at=req.started_at, finished_at=req.finished_at, erased=req.erased,
    )  # fmt: skip


@router.delete(
    "/data", status_code=202, response_model=ErasureOut, summary="Erase the organisation's data",
    description="Removes every scan and test run with its results, the daily counts, idempotency keys and "
    "heartbeats recorded until now, in the background; follow it at `status_url`. The organisation and its "
    "API keys stay, so it can go on using the platform. Asking again while an erase is open returns that one.",
)  # fmt: skip
async def erase_data(request: Request, res: ResourcesDep, principal: PrincipalDep) -> JSONResponse:
    out = _out(request, await erase.request(res.pool, principal.org_id))
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.status_url})


@router.get("/erasures/{erasure_id}", name="get_erasure", response_model=ErasureOut, summary="An erase's progress")
async def get_erasure(
    erasure_id: uuid.UUID, request: Request, res: ResourcesDep, principal: PrincipalDep
) -> ErasureOut:
    req = await erase.get(res.pool, principal.org_id, erasure_id)
    if req is None:
        raise not_found("erasure")
    return _out(request, req)
