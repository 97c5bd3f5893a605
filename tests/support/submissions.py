"""What one submission reads in PostgreSQL, for tests of how its lookup is planned."""

from __future__ import annotations

import json
import uuid

from scanfleet import ids
from scanfleet.db.pool import Connection


async def lookup_blocks(conn: Connection, org_id: uuid.UUID) -> int:
    """The buffers one submission of a new URL reads: its lookup of the URL's scans and its insert."""
    new = ids.new_id()
    plan = await conn.fetchval(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM submit_scan($1, $2, 'http', 0, $3, $4, $5)",
        org_id, f"https://shop.example/{new}", new, ids.created_at(new), f"lock-{new}",
    )  # fmt: skip
    top = json.loads(plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])
