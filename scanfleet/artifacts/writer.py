"""A finished job's attachments into the store: within the size limits, blobs before rows.

Rows are written later, with the job's result, in its transaction (scanfleet.db.artifacts): a crash between
leaves only unreferenced blobs, which the sweep removes.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from scanfleet import metrics
from scanfleet.artifacts.blobs import BlobStore, StoreUnavailable, blob_key
from scanfleet.model import Attachment

# Hashing a large artifact on the event loop would hold up every other job of the worker for milliseconds.
_HASH_IN_THREAD_BYTES = 256 * 1024


async def _digest(attachment: Attachment) -> str:
    if len(attachment.data) < _HASH_IN_THREAD_BYTES:
        return attachment.sha256
    return await asyncio.to_thread(lambda: attachment.sha256)


def within_limits(attachments: list[Attachment], max_bytes: int, job_max_bytes: int) -> list[Attachment]:
    """The attachments kept, in order: each at most `max_bytes`, all together at most `job_max_bytes` (one that
    would cross it is left out, a later smaller one may still fit)."""
    kept, total = [], 0
    for attachment in attachments:
        size = len(attachment.data)
        if size > max_bytes:
            metrics.ARTIFACTS_LEFT_OUT.labels(attachment.kind, "artifact").inc()
        elif total + size > job_max_bytes:
            metrics.ARTIFACTS_LEFT_OUT.labels(attachment.kind, "job").inc()
        else:
            kept.append(attachment)
            total += size
    return kept


@dataclass
class ArtifactWriter:
    store: BlobStore
    max_bytes: int
    job_max_bytes: int

    async def write(self, org_id: uuid.UUID, attachments: list[Attachment]) -> list[Attachment]:
        """Store the attachments within the limits; returns those stored (their rows are the caller's to write).
        Raises StoreUnavailable, with nothing referenced yet, when the store is down."""
        kept = within_limits(attachments, self.max_bytes, self.job_max_bytes)
        backend = self.store.name
        for attachment in kept:
            try:
                await self.store.put(
                    blob_key(org_id, await _digest(attachment)), attachment.data, attachment.content_type
                )
            except StoreUnavailable:
                metrics.ARTIFACT_WRITES.labels(backend, "failed").inc()
                raise
            metrics.ARTIFACT_WRITES.labels(backend, "written").inc()
            metrics.ARTIFACT_WRITE_BYTES.labels(backend).inc(len(attachment.data))
        return kept
