"""Organisations and the capacity limits they hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from scanfleet import ids
from scanfleet.db.pool import Executor
from scanfleet.db.rows import names, read
from scanfleet.tiers import Limits, limits_for


@dataclass(frozen=True)
class Org:
    id: uuid.UUID
    name: str
    tier: str
    created_at: datetime
    max_running: int | None  # overrides of the tier's defaults; None keeps the default
    max_queued: int | None

    @property
    def limits(self) -> Limits:
        return limits_for(self.tier, self.max_running, self.max_queued)


_COLS = names(Org)  # named, never *: a column a newer release adds changes no result here


async def create(conn: Executor, name: str, tier: str = "free") -> Org:
    row = await conn.fetchrow(
        f"INSERT INTO organisations (id, name, tier) VALUES ($1, $2, $3) RETURNING {_COLS}",
        ids.new_id(),
        name,
        tier,
    )
    assert row is not None  # INSERT … RETURNING returns the row it made
    return read(Org, row)


async def get(conn: Executor, org_id: uuid.UUID) -> Org | None:
    row = await conn.fetchrow(f"SELECT {_COLS} FROM organisations WHERE id = $1", org_id)
    return read(Org, row) if row else None


async def get_by_name(conn: Executor, name: str) -> Org | None:
    row = await conn.fetchrow(f"SELECT {_COLS} FROM organisations WHERE name = $1", name)
    return read(Org, row) if row else None


async def list_all(conn: Executor) -> list[Org]:
    return [read(Org, row) for row in await conn.fetch(f"SELECT {_COLS} FROM organisations ORDER BY name")]


async def set_capacity(
    conn: Executor, org_id: uuid.UUID, tier: str, max_running: int | None, max_queued: int | None
) -> Org | None:
    """Set the tier and overrides (None clears an override back to the tier's default)."""
    row = await conn.fetchrow(
        f"UPDATE organisations SET tier = $2, max_running = $3, max_queued = $4 WHERE id = $1 RETURNING {_COLS}",
        org_id,
        tier,
        max_running,
        max_queued,
    )
    return read(Org, row) if row else None
