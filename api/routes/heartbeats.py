"""/v1/heartbeats: checks that the customer's own job calls; silence past the deadline is a failed run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from scanfleet.api.deps import PrincipalDep, ResourcesDep
from scanfleet.api.errors import not_found
from scanfleet.api.fields import BODY, IdCursor, Int, Name
from scanfleet.api.jobs import Limit
from scanfleet.api.links import link
from scanfleet.api.schemas import Page, next_id
from scanfleet.db import heartbeats
from scanfleet.db.heartbeats import Heartbeat

router = APIRouter(prefix="/v1/heartbeats", tags=["heartbeats"])


class HeartbeatIn(BaseModel):
    model_config = BODY
    name: Name
    period_seconds: Int = Field(ge=10, le=31_536_000, description="how often the job pings")
    grace_seconds: Int = Field(60, ge=0, le=31_536_000, description="lateness allowed before a run fails")


class HeartbeatOut(BaseModel):
    id: uuid.UUID
    name: str
    period_seconds: int
    grace_seconds: int
    last_ping_at: datetime | None
    deadline: datetime
    missed_runs: int


class CreatedHeartbeat(HeartbeatOut):
    token: str = Field(description="shown once: the ping URL's secret")
    ping_url: str


def _out(beat: Heartbeat) -> HeartbeatOut:
    return HeartbeatOut(**{name: getattr(beat, name) for name in HeartbeatOut.model_fields})


@router.post("", status_code=201, response_model=CreatedHeartbeat, summary="Create a heartbeat (token shown once)")
async def create_heartbeat(
    body: HeartbeatIn, request: Request, res: ResourcesDep, principal: PrincipalDep
) -> CreatedHeartbeat:
    beat, token = await heartbeats.create(
        res.pool, principal.org_id, body.name, body.period_seconds, body.grace_seconds
    )
    ping_url = link(request, "ping_heartbeat", heartbeat=token)
    return CreatedHeartbeat(**_out(beat).model_dump(), token=token, ping_url=ping_url)


@router.get("", response_model=Page[HeartbeatOut], summary="The organisation's heartbeats, oldest first")
async def list_heartbeats(
    res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100, cursor: IdCursor = None
) -> Page[HeartbeatOut]:
    found = await heartbeats.list_for_org(res.pool, principal.org_id, cursor, limit)
    return Page[HeartbeatOut](items=[_out(beat) for beat in found], next_cursor=next_id(found, limit))


# One path template for a heartbeat, as OpenAPI requires: `{heartbeat}` is its id for the organisation's reads and
# deletes, and its ping token for the ping.
HeartbeatId = Annotated[uuid.UUID, Path(alias="heartbeat", description="the heartbeat's id")]


@router.get("/{heartbeat}", response_model=HeartbeatOut, summary="A heartbeat's state")
async def get_heartbeat(heartbeat_id: HeartbeatId, res: ResourcesDep, principal: PrincipalDep) -> HeartbeatOut:
    beat = await heartbeats.get(res.pool, principal.org_id, heartbeat_id)
    if beat is None:
        raise not_found("heartbeat")
    return _out(beat)


@router.delete("/{heartbeat}", status_code=204, summary="Delete a heartbeat")
async def delete_heartbeat(heartbeat_id: HeartbeatId, res: ResourcesDep, principal: PrincipalDep) -> Response:
    if not await heartbeats.delete(res.pool, principal.org_id, heartbeat_id):
        raise not_found("heartbeat")
    return Response(status_code=204)


class Ping(BaseModel):
    status: str
    deadline: datetime


@router.post(
    "/{heartbeat}", name="ping_heartbeat", response_model=Ping,
    summary="Ping: the token is the credential (no API key); an unknown token is 404",
)  # fmt: skip
async def ping_heartbeat(
    token: Annotated[str, Path(alias="heartbeat", min_length=16, max_length=64, description="the ping token")],
    res: ResourcesDep,
) -> Ping:
    beat = await heartbeats.ping(res.pool, token)
    if beat is None:
        raise not_found("heartbeat")
    return Ping(status="ok", deadline=beat.deadline)
