"""/v1/keys: the organisation's API keys: list them, revoke one, rotate one. A key's secret is shown once, when it
is made; only its digest is stored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, Field

from scanfleet.api.deps import PrincipalDep, ResourcesDep
from scanfleet.api.errors import ApiError, documented, not_found
from scanfleet.api.fields import BODY, IdCursor, Int
from scanfleet.api.jobs import Limit
from scanfleet.api.schemas import Page, next_id
from scanfleet.db import api_keys
from scanfleet.db.api_keys import ApiKey

router = APIRouter(prefix="/v1/keys", tags=["keys"])
MAX_GRACE_SECONDS = 7 * 86_400
KeyId = Annotated[uuid.UUID, Path(description="the key's id")]


class KeyOut(BaseModel):
    id: uuid.UUID
    name: str = Field(description="its label")
    prefix: str = Field(description="the secret's first characters, to tell keys apart")
    scopes: list[str] = Field(description="`admin`: may set any organisation's tier and limits")
    created_at: datetime
    last_used_at: datetime | None = Field(description="when it last authenticated a request (within a minute)")
    revoked_at: datetime | None = Field(description="when it stopped, or stops (a rotated key's grace), working")

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(**{name: getattr(key, name) for name in cls.model_fields})


class CreatedKey(KeyOut):
    secret: str = Field(description="shown once: send it as `Authorization: Bearer <secret>`")
    replaces: KeyOut = Field(description="the rotated key, with the time it stops working")


class RotateIn(BaseModel):
    model_config = BODY
    grace_seconds: Int = Field(
        0, ge=0, le=MAX_GRACE_SECONDS, description="how long the old key keeps working (0: it stops at once)"
    )


@router.get("", response_model=Page[KeyOut], summary="The organisation's API keys, revoked ones included")
async def list_keys(
    res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100, cursor: IdCursor = None
) -> Page[KeyOut]:
    found = await api_keys.list_for_org(res.pool, principal.org_id, cursor, limit)
    return Page[KeyOut](items=[KeyOut.of(key) for key in found], next_cursor=next_id(found, limit))


@router.delete(
    "/{key_id}", response_model=KeyOut, summary="Revoke a key at once (the key making the request included)",
    description="A revoked key, or another organisation's, is 404. The organisation's last working admin key is not "
    "revoked over the API (409 `last_admin_key`): nothing could then use the admin API; `scanfleet key revoke` can.",
    responses=documented(409, "the organisation's last working admin key (`last_admin_key`)"),
)  # fmt: skip
async def revoke_key(key_id: KeyId, res: ResourcesDep, principal: PrincipalDep) -> KeyOut:
    try:
        revoked = await api_keys.revoke(res.pool, principal.org_id, key_id, keep_admin=True)
    except api_keys.LastAdminKey:
        raise ApiError(409, "last_admin_key", "this is the organisation's last working admin key") from None
    if revoked is None:
        raise not_found("API key")
    res.principals.forget_key(key_id)
    return KeyOut.of(revoked)


@router.post(
    "/{key_id}/rotate", status_code=201, response_model=CreatedKey,
    summary="A new key in place of this one (same name and scopes); the old one stops after the grace period",
    description="A key already revoked, or already rotated, is 404 (rotate its replacement instead).",
)  # fmt: skip
async def rotate_key(
    key_id: KeyId, res: ResourcesDep, principal: PrincipalDep, body: Annotated[RotateIn | None, Body()] = None
) -> CreatedKey:
    rotated = await api_keys.rotate(res.pool, principal.org_id, key_id, (body or RotateIn()).grace_seconds)
    if rotated is None:
        raise not_found("API key")
    res.principals.forget_key(key_id)  # trusted no longer than its grace period
    old, new, secret = rotated
    return CreatedKey(**KeyOut.of(new).model_dump(), secret=secret, replaces=KeyOut.of(old))
