"""Idempotency keys: a retried request with the same key gets the first request's answer."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from scanfleet.db.pool import Executor


@dataclass(frozen=True)
class Claim:
    state: Literal["new", "replay", "mismatch", "in_progress"]
    status_code: int | None = None
    response: Any = None


def request_hash(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


async def claim(conn: Executor, org_id: uuid.UUID, key: str, body_hash: bytes) -> Claim:
    """Take the key for this request, or learn what became of the first request that used it."""
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (org_id, key, request_hash) VALUES ($1, $2, $3)"
        " ON CONFLICT (org_id, key) DO NOTHING RETURNING true",
        org_id, key, body_hash,
    )  # fmt: skip
    if inserted:
        return Claim("new")
    row = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys WHERE org_id = $1 AND key = $2",
        org_id, key,
    )  # fmt: skip
    if row is None:  # purged between the two statements: take it afresh
        return await claim(conn, org_id, key, body_hash)
    if row["request_hash"] != body_hash:
        return Claim("mismatch")
    if row["status_code"] is None:
        return Claim("in_progress")
    return Claim("replay", row["status_code"], row["response"])


async def complete(conn: Executor, org_id: uuid.UUID, key: str, status_code: int, response: Any) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE org_id = $1 AND key = $2",
        org_id, key, status_code, response,
    )  # fmt: skip


async def release(conn: Executor, org_id: uuid.UUID, key: str) -> None:
    """The request failed in a way worth retrying (a full queue, say): let the key be used again."""
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status_code IS NULL", org_id, key
    )


async def purge(conn: Executor, older_than_seconds: float) -> int:
    status = await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)", older_than_seconds
    )
    return int(status.split()[-1])
