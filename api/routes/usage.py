"""/v1/usage: what the caller's organisation is using of its limits."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from scanfleet.api.deps import PrincipalDep, ResourcesDep

router = APIRouter(prefix="/v1/usage", tags=["capacity"])


class LimitsOut(BaseModel):
    max_running: int
    max_queued: int
    requests_per_minute: int


class UsageOut(BaseModel):
    tier: str
    running: int
    queued: int
    limits: LimitsOut


@router.get("", response_model=UsageOut, summary="Running and queued jobs against the tier's limits")
async def get_usage(res: ResourcesDep, principal: PrincipalDep) -> UsageOut:
    usage = await res.gate.usage(principal.org_id)
    limits = principal.limits
    return UsageOut(
        tier=limits.tier,
        running=usage.running,
        queued=usage.queued,
        limits=LimitsOut(
            max_running=limits.max_running,
            max_queued=limits.max_queued,
            requests_per_minute=limits.requests_per_minute,
        ),
    )
