"""API keys, stored as digests; a request's key resolves to the principal it acts for."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from scanfleet import ids, keys
from scanfleet.db import pages
from scanfleet.db.locks import lock_name
from scanfleet.db.pool import Connection, Executor
from scanfleet.db.rows import Row, names, read
from scanfleet.tiers import Limits, limits_for

ADMIN_SCOPE = "admin"  # may change any organisation's tier and limits
USE_RECORDED_EVERY_SECONDS = 60  # last_used_at is at most this stale, and costs a write at most this often per key
# A key works while revoked_at is null or ahead: the queries below say so as "(revoked_at IS NULL OR ...)".


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    org_id: uuid.UUID
    limits: Limits  # read with the key on every request, so a tier change applies at once
    scopes: tuple[str, ...]
    revoked_in: float | None = None  # seconds until the key stops (a rotated key's grace period); None: no end set

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes


@dataclass(frozen=True)
class ApiKey:
    """A key as it may be shown: never its secret, nor the secret's digest."""

    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None  # in the future: a rotated key's grace period ends then

    @classmethod
    def from_row(cls, row: Row | None) -> ApiKey:
        assert row is not None, "no key row"  # a row the statement just returned
        return read(cls, row, scopes=tuple(row["scopes"]))


_COLS = names(ApiKey)  # named, never *: a column a newer release adds changes no result here


async def create(conn: Executor, org_id: uuid.UUID, name: str, scopes: tuple[str, ...] = ()) -> tuple[uuid.UUID, str]:
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


async def authenticate(conn: Executor, key: str) -> Principal | None:
    row = await conn.fetchrow(
        "SELECT k.id, k.org_id, k.scopes, o.tier, o.max_running, o.max_queued,"
        " k.last_used_at IS NULL OR k.last_used_at < now() - make_interval(secs => $2) AS stale,"
        " extract(epoch FROM k.revoked_at - now())::float8 AS revoked_in"
        " FROM api_keys k JOIN organisations o ON o.id = k.org_id"
        " WHERE k.key_hash = $1 AND (k.revoked_at IS NULL OR k.revoked_at > now())",
        keys.digest(key),
        USE_RECORDED_EVERY_SECONDS,
    )
    if row is None:
        return None
    if row["stale"]:
        # Conditional, so replicas that all saw it stale write it once between them.
        await conn.execute(
            "UPDATE api_keys SET last_used_at = now()"
            " WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))",
            row["id"],
            USE_RECORDED_EVERY_SECONDS,
        )
    return Principal(
        key_id=row["id"],
        org_id=row["org_id"],
        limits=limits_for(row["tier"], row["max_running"], row["max_queued"]),
        scopes=tuple(row["scopes"]),
        revoked_in=row["revoked_in"],
    )


async def list_for_org(conn: Executor, org_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[ApiKey]:
    """The organisation's keys, revoked ones included, oldest first, a page of `limit` after the id `after`."""
    return [ApiKey.from_row(row) for row in await pages.by_id(conn, "api_keys", _COLS, org_id, after, limit)]


async def get(conn: Executor, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    row = await conn.fetchrow(f"SELECT {_COLS} FROM api_keys WHERE id = $1 AND org_id = $2", key_id, org_id)
    return ApiKey.from_row(row) if row else None


async def revoke(conn: Executor, org_id: uuid.UUID, key_id: uuid.UUID, keep_admin: bool = False) -> ApiKey | None:
    """Revoke a key that still works (one in its grace period included) at once; None if there is none such.
    With `keep_admin`, refuses (LastAdminKey) to revoke the organisation's last working admin key."""
    async with _transaction(conn) as tx:
        await lock_name(tx, f"api_keys:{org_id}")  # two revocations cannot each leave the other's admin key
        key = await tx.fetchrow(
            f"SELECT {_COLS} FROM api_keys WHERE id = $1 AND org_id = $2"
            " AND (revoked_at IS NULL OR revoked_at > now())",
            key_id,
            org_id,
        )
        if key is None:
            return None
        if keep_admin and ADMIN_SCOPE in key["scopes"]:
            admins = await tx.fetchval(
                "SELECT count(*) FROM api_keys WHERE org_id = $1 AND $2 = ANY(scopes)"
                " AND (revoked_at IS NULL OR revoked_at > now())",
                org_id,
                ADMIN_SCOPE,
            )
            if admins <= 1:
                raise LastAdminKey(key_id)
        row = await tx.fetchrow(f"UPDATE api_keys SET revoked_at = now() WHERE id = $1 RETURNING {_COLS}", key_id)
    return ApiKey.from_row(row)


async def rotate(
    conn: Executor, org_id: uuid.UUID, key_id: uuid.UUID, grace_seconds: int
) -> tuple[ApiKey, ApiKey, str] | None:
    """A new key with the old one's name and scopes, the old one revoked after `grace_seconds` (0: at once).
    Returns (old key, new key, the new secret); None unless the key exists and no revocation is set for it."""
    async with _transaction(conn) as tx:
        old = await tx.fetchrow(
            "UPDATE api_keys SET revoked_at = now() + make_interval(secs => $3)"
            f" WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL RETURNING {_COLS}",
            key_id,
            org_id,
            grace_seconds,
        )
        if old is None:
            return None
        new_id, secret = await create(tx, org_id, old["name"], tuple(old["scopes"]))
        new = await tx.fetchrow(f"SELECT {_COLS} FROM api_keys WHERE id = $1", new_id)
    return ApiKey.from_row(old), ApiKey.from_row(new), secret


class LastAdminKey(Exception):
    """Revoking this key would leave its organisation without a working admin key."""


@contextlib.asynccontextmanager
async def _transaction(conn: Executor) -> AsyncIterator[Connection]:
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as acquired, acquired.transaction():
            yield acquired
    else:
        async with conn.transaction():
            yield conn
