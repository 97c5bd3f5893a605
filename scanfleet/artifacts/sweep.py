"""Blobs leave the store once no row references them: the sweep (retention's dropped days, purged scans, a crash
between a blob's write and its row's commit), and an organisation's erase.

The sweep never removes a blob younger than its grace: a worker may have written it and not yet committed the
row that references it. Writing a blob again renews its age (scanfleet.artifacts.blobs.BlobStore.put), so a new
job that produced the same bytes as a swept-away one keeps its blob.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from scanfleet.artifacts.blobs import Blob, BlobStore, blob_key, parse_key
from scanfleet.db import artifacts, locks

LEASE = "artifact_sweep"
LEASE_SECONDS = 60.0


@dataclass(frozen=True)
class Swept:
    objects: int  # blobs kept
    bytes: int  # their size
    removed: int


async def sweep(pool: asyncpg.Pool, store: BlobStore, now: datetime, grace_seconds: float) -> Swept | None:
    """Remove every blob older than the grace that no row references; None while another replica sweeps."""
    cutoff = now - timedelta(seconds=grace_seconds)
    async with locks.lease(pool, LEASE, LEASE_SECONDS) as held:
        if not held:
            return None
        objects = size = removed = 0
        async for page in store.listing():
            old: dict[tuple[uuid.UUID, str], Blob] = {}
            for blob in page:
                named = parse_key(blob.key)
                if named is not None and blob.modified < cutoff:
                    old[named] = blob
                elif named is not None:
                    objects, size = objects + 1, size + blob.size
            live = await artifacts.referenced(pool, list(old))
            unreferenced = [blob.key for named, blob in old.items() if named not in live]
            # A put may have renewed one since the listing read its age, its row committed after the query above:
            # the store reads each one's age again before removing it.
            gone = await store.delete(unreferenced, written_before=cutoff)
            removed += len(gone)
            kept = [blob for blob in old.values() if blob.key not in gone]
            objects, size = objects + len(kept), size + sum(blob.size for blob in kept)
        return Swept(objects, size, removed)


async def erase_org(store: BlobStore, org_id: uuid.UUID, before: datetime) -> int:
    """The org's blobs last written before `before` (its erase request); its rows are gone by then. A blob
    written since belongs to a job recorded after the request, which the erase does not cover."""
    removed = 0
    async for page in store.listing(blob_key(org_id, "")):
        old = [blob.key for blob in page if blob.modified < before and parse_key(blob.key) is not None]
        removed += len(await store.delete(old, written_before=before))
    return removed
