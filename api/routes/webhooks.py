"""/v1/webhooks: endpoints that receive signed events when the organisation's scans and runs complete."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from scanfleet.api.deps import PrincipalDep, ResourcesDep
from scanfleet.api.errors import ApiError, documented, not_found
from scanfleet.api.fields import BODY, DeliveryCursor, IdCursor, TargetUrl, Text
from scanfleet.api.jobs import Limit
from scanfleet.api.schemas import Page, error_of, next_id
from scanfleet.db import webhooks
from scanfleet.db.webhooks import Delivery, Endpoint
from scanfleet.webhooks.events import EVENT_TYPES, EventType

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class EndpointIn(BaseModel):
    model_config = BODY
    url: TargetUrl = Field(description="http(s) URL the events are POSTed to", examples=["https://example.com/hooks"])
    description: Text = Field("", max_length=200)
    events: list[EventType] = Field(list(EVENT_TYPES), min_length=1, description="the event types it receives")


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    created_at: datetime


class CreatedEndpoint(EndpointOut):
    secret: str = Field(description="shown once: the key that signs every delivery (Scanfleet-Signature)")


class DeliveryOut(BaseModel):
    id: int
    event_id: uuid.UUID
    event_type: str
    event_state: str = Field(description="the event's, now: pending, delivered or failed (attempts spent)")
    scan_id: uuid.UUID
    attempt: int
    attempted_at: datetime
    status_code: int | None = Field(description="the receiver's answer; null when none came (see error)")
    error: dict[str, str] | None
    duration_ms: int


def _out(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut(**{name: getattr(endpoint, name) for name in EndpointOut.model_fields})


def _delivery_out(item: Delivery) -> DeliveryOut:
    fields = {name: getattr(item, name) for name in DeliveryOut.model_fields if name != "error"}
    return DeliveryOut(**fields, error=error_of(item.error_code, item.error_message))


@router.post(
    "", status_code=201, response_model=CreatedEndpoint, summary="Register an endpoint (secret shown once)",
    responses=documented(409, f"the organisation has {webhooks.MAX_ENDPOINTS} endpoints (`too_many_endpoints`)"),
)  # fmt: skip
async def create_endpoint(body: EndpointIn, res: ResourcesDep, principal: PrincipalDep) -> CreatedEndpoint:
    created = await webhooks.create(
        res.pool, principal.org_id, body.url, body.description, list(dict.fromkeys(body.events))
    )
    if created is None:
        raise ApiError(
            409, "too_many_endpoints", f"an organisation has at most {webhooks.MAX_ENDPOINTS} webhook endpoints",
            details={"limit": webhooks.MAX_ENDPOINTS},
        )  # fmt: skip
    endpoint, secret = created
    return CreatedEndpoint(**_out(endpoint).model_dump(), secret=secret)


@router.get("", response_model=Page[EndpointOut], summary="The organisation's webhook endpoints, oldest first")
async def list_endpoints(
    res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100, cursor: IdCursor = None
) -> Page[EndpointOut]:
    found = await webhooks.list_for_org(res.pool, principal.org_id, cursor, limit)
    return Page[EndpointOut](items=[_out(endpoint) for endpoint in found], next_cursor=next_id(found, limit))


@router.delete("/{endpoint_id}", status_code=204, summary="Delete an endpoint, its pending events and its log")
async def delete_endpoint(endpoint_id: uuid.UUID, res: ResourcesDep, principal: PrincipalDep) -> Response:
    if not await webhooks.delete(res.pool, principal.org_id, endpoint_id):
        raise not_found("webhook endpoint")
    return Response(status_code=204)


@router.get(
    "/{endpoint_id}/deliveries", response_model=Page[DeliveryOut],
    summary="The endpoint's delivery log: every attempt, newest first",
)  # fmt: skip
async def list_deliveries(
    endpoint_id: uuid.UUID, res: ResourcesDep, principal: PrincipalDep, limit: Limit = 50,
    cursor: DeliveryCursor = None,
) -> Page[DeliveryOut]:  # fmt: skip
    if await webhooks.get(res.pool, principal.org_id, endpoint_id) is None:
        raise not_found("webhook endpoint")
    found = await webhooks.deliveries(res.pool, principal.org_id, endpoint_id, cursor, limit)
    return Page[DeliveryOut](items=[_delivery_out(item) for item in found], next_cursor=next_id(found, limit))
