"""What submissions cost PostgreSQL: the buffers one reads, for tests of how its lookup is planned, and the
transactions many made at once take, for tests of group commit."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import asyncpg
import pytest

from scanfleet import ids
from scanfleet.db.pool import Connection
from scanfleet.db.store import PgJobStore


async def lookup_blocks(conn: Connection, org_id: uuid.UUID) -> int:
    """The buffers one submission of a new URL reads: its lookup of the URL's scans and its insert."""
    new = ids.new_id()
    plan = await conn.fetchval(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM submit_scan($1, $2, 'http', 0, $3, $4, $5)",
        org_id, f"https://shop.example/{new}", new, ids.created_at(new), f"lock-{new}",
    )  # fmt: skip
    top = json.loads(plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])


async def made_together(pool: asyncpg.Pool, org_id: uuid.UUID, count: int, caplog: pytest.LogCaptureFixture) -> int:
    """How many transactions `count` submissions of new URLs, made at once through the job store, took; a batch
    that failed and fell back to submissions one by one fails the test."""
    store, run = PgJobStore(pool), uuid.uuid4().hex[:8]
    targets = [f"https://group-{run}.example/{n}" for n in range(count)]
    with caplog.at_level(logging.WARNING, logger="scanfleet.group_commit"):
        made = await asyncio.gather(*(store.create_scan(org_id, url, "http", 0) for url in targets))
    assert not caplog.records, [record.getMessage() for record in caplog.records]
    assert [job.url for job, _ in made] == targets and all(reused is None for _, reused in made)
    # Rows a transaction inserted carry its id.
    return int(await pool.fetchval("SELECT count(DISTINCT xmin::text) FROM scans WHERE id = ANY($1)",
                                   [job.id for job, _ in made]))  # fmt: skip
