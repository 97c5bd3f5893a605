"""Statistics for a day's partition as it fills: a session's plans made while it was empty are made again."""

from __future__ import annotations

import uuid

import asyncpg

from scanfleet import ids
from scanfleet.config import Settings
from scanfleet.db import orgs, partitions, scans
from scanfleet.db.pool import Connection
from scanfleet.scheduler import partitions as partition_rounds
from tests.support.site import eventually
from tests.support.submissions import lookup_blocks


async def test_a_filling_partition_is_analysed_and_the_submissions_lookup_planned_for_its_size(
    own_database: tuple[Settings, asyncpg.Pool],
) -> None:
    _, pool = own_database
    org = await orgs.create(pool, "filling", "enterprise")
    today = f"public.scans_{ids.created_at(ids.new_id()):%Y%m%d}"
    await pool.execute(f"ALTER TABLE {today} SET (autovacuum_enabled = off)")  # only the upkeep analyses it here
    async with pool.acquire() as session:  # one session: the plans it keeps are the ones that matter
        for n in range(10):  # its lookup planned while the day's partition is all but empty
            await scans.find_or_insert(session, org.id, f"https://shop.example/early/{n}", "http", 0)
        await _insert(session, org.id, 3000)
        unplanned = await lookup_blocks(session, org.id)

        analysed = await eventually(lambda: partition_rounds.analyze_filling(pool), timeout=30)
        assert today in analysed
        await lookup_blocks(session, org.id)  # planned again: the statistics are new
        planned = await lookup_blocks(session, org.id)

        # Analysed at about 3,000 rows, it is analysed again once as many have changed, not before.
        await _insert(session, org.id, 2500)
        assert today not in await partitions.analyze_filling(pool)
        await _insert(session, org.id, 600)
        assert today in await eventually(lambda: partitions.analyze_filling(pool), timeout=30)

    # Before, the lookup read every row of the organisation in the partition; now it reads the URL's own.
    assert unplanned > 3000 // 50  # the 3,000 rows take about 60 blocks
    assert planned * 5 < unplanned


async def _insert(session: Connection, org_id: uuid.UUID, count: int) -> None:
    """`count` queued scans of the organisation today, counted in the statistics at once (not when idle)."""
    await session.execute(
        "INSERT INTO scans (id, created_at, org_id, url, engine)"
        " SELECT gen_random_uuid(), now(), $1, 'https://shop.example/bulk/' || gen_random_uuid(), 'http'"
        " FROM generate_series(1, $2::int)",
        org_id, count,
    )  # fmt: skip
    await session.execute("SELECT pg_stat_force_next_flush()")
