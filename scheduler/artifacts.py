"""The artifact sweep round: unreferenced blobs leave the store, and its size is exported."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from scanfleet import metrics
from scanfleet.artifacts import BlobStore
from scanfleet.artifacts.sweep import Swept, sweep
from scanfleet.config import Settings

log = logging.getLogger(__name__)


async def sweep_round(pool: asyncpg.Pool, store: BlobStore, settings: Settings) -> Swept | None:
    swept = await sweep(pool, store, datetime.now(UTC), settings.artifact_sweep_grace_seconds)
    if swept is None:
        return None
    metrics.ARTIFACTS_STORED.set(swept.objects)
    metrics.ARTIFACT_BYTES_STORED.set(swept.bytes)
    metrics.ARTIFACTS_DELETED.labels("sweep").inc(swept.removed)
    if swept.removed:
        log.info("swept %s unreferenced artifact blobs; %s remain", swept.removed, swept.objects)
    return swept
