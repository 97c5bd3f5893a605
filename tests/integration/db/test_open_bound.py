"""The submission's lookup of scans in flight reads the day partitions from the oldest unfinished scan on."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import asyncpg

from scanfleet import ids
from scanfleet.config import Settings
from scanfleet.db import orgs, partitions, results, scans
from scanfleet.model import Outcome, Status
from tests.support.submissions import lookup_blocks

URL = "https://shop.example/old"
MARGIN = timedelta(seconds=scans.OPEN_MARGIN_SECONDS)


def _day_before(moment: datetime) -> datetime:
    """Midnight (UTC) of the day a margin before `moment`: where the bound stops for a scan made then."""
    return datetime.combine((moment - MARGIN).date(), time(0), UTC)


async def test_the_bound_follows_the_oldest_unfinished_scan_and_spares_the_partitions_before_it(
    own_database: tuple[Settings, asyncpg.Pool],
) -> None:
    _, pool = own_database
    org = await orgs.create(pool, "bounded", "enterprise")
    today = datetime.now(UTC)
    for days in range(1, 31):  # a month retention keeps
        await partitions.ensure_day(pool, (today - timedelta(days=days)).date())
    old = await scans.insert(pool, org.id, URL, scan_id=ids.new_id(at=today - timedelta(days=20)))

    # Still queued after 20 days: the bound stays before it, and a submission of its URL is that scan.
    bound = await scans.bound_open(pool)
    assert bound == _day_before(old.created_at)
    found, reused = await scans.submit(pool, scans.Submission(org.id, URL, "http", 0))
    assert (found.id, reused) == (old.id, "in_flight")
    async with pool.acquire() as session:
        from_the_old_scan = await lookup_blocks(session, org.id)

    # Finished, it no longer holds the bound back: the lookup reads today's partitions and the days ahead.
    claimed = await scans.claim(pool, old.id, lease_seconds=60)
    assert claimed is not None
    assert await results.record_outcome(pool, claimed, Outcome(Status.FAILED, error_code="timeout"))
    # A host whose clock is two hours ahead made a queued scan: the bound follows the database's clock, not it.
    await scans.insert(pool, org.id, f"{URL}/ahead", scan_id=ids.new_id(at=datetime.now(UTC) + timedelta(hours=2)))
    bound = await scans.bound_open(pool)
    assert bound in {_day_before(today), _day_before(datetime.now(UTC))}  # midnight may pass meanwhile
    assert await scans.bound_open(pool) == bound  # nothing older is open: it stays
    async with pool.acquire() as session:
        bounded = await lookup_blocks(session, org.id)
    assert bounded * 2 < from_the_old_scan  # the days between spared

    again, reused = await scans.submit(pool, scans.Submission(org.id, URL, "http", 0))
    assert again.id != old.id and reused is None  # finished: a new scan, as before
