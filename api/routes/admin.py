"""/v1/admin: operators set an organisation's tier and limits (admin-scoped keys only)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from scanfleet.api.deps import AdminDep, ResourcesDep
from scanfleet.api.errors import not_found
from scanfleet.api.fields import BODY, Int
from scanfleet.db import orgs

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class CapacityIn(BaseModel):
    model_config = BODY
    tier: Literal["free", "pro", "enterprise"]
    max_running: Int | None = Field(None, ge=0, le=10_000, description="override; null keeps the tier's default")
    max_queued: Int | None = Field(None, ge=0, le=1_000_000, description="override; null keeps the tier's default")


class CapacityOut(BaseModel):
    org_id: uuid.UUID
    name: str
    tier: str
    max_running: int
    max_queued: int
    requests_per_minute: int


@router.put("/orgs/{org_id}/capacity", response_model=CapacityOut, summary="Set an organisation's tier and limits")
async def set_capacity(org_id: uuid.UUID, body: CapacityIn, res: ResourcesDep, _: AdminDep) -> CapacityOut:
    org = await orgs.set_capacity(res.pool, org_id, body.tier, body.max_running, body.max_queued)
    if org is None:
        raise not_found("organisation")
    # Applies to the next admission at once (in other API processes within their key cache's time); a raised
    # running limit dispatches waiting jobs now.
    res.principals.forget_org(org.id)
    await res.lifecycle.apply_limits(org.id, org.limits)
    limits = org.limits
    return CapacityOut(
        org_id=org.id,
        name=org.name,
        tier=limits.tier,
        max_running=limits.max_running,
        max_queued=limits.max_queued,
        requests_per_minute=limits.requests_per_minute,
    )
