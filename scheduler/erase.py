"""The erase round: one organisation's erase request at a time, in short batches (see scanfleet.db.erase)."""

from __future__ import annotations

import logging

import asyncpg

from scanfleet import metrics
from scanfleet.artifacts import BlobStore
from scanfleet.artifacts.sweep import erase_org
from scanfleet.config import Settings
from scanfleet.db import erase

log = logging.getLogger(__name__)

# One erase request per round, for this long at most, so a stopping scheduler is not held up for long.
ERASE_ROUND_SECONDS = 10.0
# Far longer than one batch: another replica takes a request over only from one that died.
ERASE_LEASE_SECONDS = 60.0


async def erase_round(pool: asyncpg.Pool, store: BlobStore, settings: Settings) -> erase.EraseRequest | None:
    """Work on one open erase request, and once its rows are gone its artifact blobs; returns it as it was claimed,
    or None when there was none. A crash between the rows and the blobs leaves the blobs to the sweep."""
    req = await erase.claim(pool, ERASE_LEASE_SECONDS)
    if req is None:
        return None
    try:
        erased, done = await erase.erase_some(
            pool, req, settings.erase_batch_rows, ERASE_ROUND_SECONDS, ERASE_LEASE_SECONDS
        )
    finally:
        await erase.release(pool, req.id)
    if done:
        metrics.ARTIFACTS_DELETED.labels("erase").inc(await erase_org(store, req.org_id, req.requested_at))
    for table, count in erased.items():
        metrics.ROWS_ERASED.labels(table).inc(count)
    log.info("erase %s of org %s: %s rows this round%s", req.id, req.org_id, erased.total(), ", done" if done else "")
    return req
