"""Named leases in PostgreSQL: one holder at a time, extended by its holder, taken over once run out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import asyncpg

from scanfleet.db import locks
from tests.support.site import eventually


async def test_one_holder_at_a_time_until_released(pool: asyncpg.Pool) -> None:
    name, first, second = f"test-{uuid.uuid4()}", uuid.uuid4(), uuid.uuid4()
    assert await locks.take_lease(pool, name, first, 60)
    assert not await locks.take_lease(pool, name, second, 60)
    assert await locks.take_lease(pool, name, first, 60), "its holder extends it"
    await locks.release_lease(pool, name, second)  # not the holder: nothing happens
    assert not await locks.take_lease(pool, name, second, 60)
    await locks.release_lease(pool, name, first)
    assert await locks.take_lease(pool, name, second, 60)


async def test_a_lease_run_out_is_taken_over_and_its_old_holder_cannot_extend_it(pool: asyncpg.Pool) -> None:
    name, dead, taker = f"test-{uuid.uuid4()}", uuid.uuid4(), uuid.uuid4()
    assert await locks.take_lease(pool, name, dead, 0.3)

    async def taken() -> bool:
        return await locks.take_lease(pool, name, taker, 60)

    await eventually(taken, timeout=5, interval=0.05)
    assert not await locks.take_lease(pool, name, dead, 60)


async def test_many_at_once_one_takes_it(pool: asyncpg.Pool) -> None:
    name = f"test-{uuid.uuid4()}"
    taken = await asyncio.gather(*(locks.take_lease(pool, name, uuid.uuid4(), 60) for _ in range(20)))
    assert sum(taken) == 1


async def test_a_lease_held_for_a_block_is_renewed_while_it_runs_and_released_after(pool: asyncpg.Pool) -> None:
    name, other = f"test-{uuid.uuid4()}", uuid.uuid4()
    async with locks.lease(pool, name, 1.5) as held:
        assert held
        expiry: datetime = await pool.fetchval("SELECT until FROM upkeep_leases WHERE name = $1", name)

        async def renewed() -> bool:
            until: datetime = await pool.fetchval("SELECT until FROM upkeep_leases WHERE name = $1", name)
            return until > expiry

        await eventually(renewed, timeout=5, interval=0.05)  # renewed a third of the way in
        assert not await locks.take_lease(pool, name, other, 60)
        async with locks.lease(pool, name, 60) as also:
            assert not also
    assert await locks.take_lease(pool, name, other, 60), "released when the block ended"
