"""Organisations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from scanfleet import ids

TIERS = ("free", "pro", "enterprise")


@dataclass(frozen=True)
class Org:
    id: uuid.UUID
    name: str
    tier: str
    created_at: datetime


async def create(conn: asyncpg.Connection | asyncpg.Pool, name: str, tier: str = "free") -> Org:
    row = await conn.fetchrow(
        "INSERT INTO organisations (id, name, tier) VALUES ($1, $2, $3) RETURNING *", ids.new_id(), name, tier
    )
    return Org(**dict(row))


async def get_by_name(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> Org | None:
    row = await conn.fetchrow("SELECT * FROM organisations WHERE name = $1", name)
    return Org(**dict(row)) if row else None


async def list_all(conn: asyncpg.Connection | asyncpg.Pool) -> list[Org]:
    return [Org(**dict(row)) for row in await conn.fetch("SELECT * FROM organisations ORDER BY name")]
