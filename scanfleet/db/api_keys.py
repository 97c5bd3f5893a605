"""API keys, stored as digests; a request's key resolves to the principal it acts for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from scanfleet import ids, keys
from scanfleet.tiers import Limits, limits_for

ADMIN_SCOPE = "admin"  # may change any organisation's tier and limits


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    org_id: uuid.UUID
    limits: Limits  # read with the key on every request, so a tier change applies at once
    scopes: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes


async def create(
    conn: asyncpg.Connection | asyncpg.Pool, org_id: uuid.UUID, name: str, scopes: tuple[str, ...] = ()
) -> tuple[uuid.UUID, str]:
    """Returns (key id, the key). The key is not stored and cannot be shown again."""
    key = keys.generate()
    key_id = ids.new_id()
    await conn.execute(
        "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4, $5, $6)",
        key_id,
        org_id,
        name,
        keys.display_prefix(key),
        keys.digest(key),
        list(scopes),
    )
    return key_id, key


async def authenticate(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> Principal | None:
    row = await conn.fetchrow(
        "SELECT k.id, k.org_id, k.scopes, o.tier, o.max_running, o.max_queued"
        " FROM api_keys k JOIN organisations o ON o.id = k.org_id"
        " WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        keys.digest(key),
    )
    if row is None:
        return None
    return Principal(
        key_id=row["id"],
        org_id=row["org_id"],
        limits=limits_for(row["tier"], row["max_running"], row["max_queued"]),
        scopes=tuple(row["scopes"]),
    )


async def revoke(conn: asyncpg.Connection | asyncpg.Pool, org_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    status = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL",
        key_id,
        org_id,
    )
    return status.endswith(" 1")
