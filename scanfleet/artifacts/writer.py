"""A finished job's attachments into the store: within the size limits, blobs before rows.

Rows are written later, with the job's result, in its transaction (scanfleet.db.artifacts): a crash between
leaves only unreferenced blobs, which the sweep removes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace

from scanfleet import metrics
from scanfleet.artifacts.blobs import BlobRefused, BlobStore, StoreUnavailable, blob_key
from scanfleet.model import Attachment, Outcome

log = logging.getLogger(__name__)

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


def without_artifacts(outcome: Outcome, reason: str) -> Outcome:
    """The outcome with none of its attachments, each counted as left out for `reason`: the result is kept."""
    for attachment in outcome.attachments:
        metrics.ARTIFACTS_LEFT_OUT.labels(attachment.kind, reason).inc()
    if outcome.attachments:
        log.warning("%d artifacts left out (%s)", len(outcome.attachments), reason)
    return replace(outcome, attachments=[])


@dataclass
class ArtifactWriter:
    store: BlobStore
    max_bytes: int
    job_max_bytes: int

    async def write(self, org_id: uuid.UUID, attachments: list[Attachment]) -> list[Attachment]:
        """Store the attachments within the limits; returns those stored (their rows are the caller's to write).
        Raises StoreUnavailable, with nothing referenced yet, when the store is down. One the store refuses for
        itself (its object-size limit, say) is left out: the job's result does not depend on its artifacts."""
        backend, stored = self.store.name, []
        for attachment in within_limits(attachments, self.max_bytes, self.job_max_bytes):
            try:
                await self.store.put(
                    blob_key(org_id, await _digest(attachment)), attachment.data, attachment.content_type
                )
            except StoreUnavailable:
                metrics.ARTIFACT_WRITES.labels(backend, "failed").inc()
                raise
            except BlobRefused as exc:
                metrics.ARTIFACT_WRITES.labels(backend, "refused").inc()
                metrics.ARTIFACTS_LEFT_OUT.labels(attachment.kind, "refused").inc()
                log.warning("%s artifact of %d bytes left out: the store refused it (%s)",
                            attachment.kind, len(attachment.data), exc)  # fmt: skip
                continue
            metrics.ARTIFACT_WRITES.labels(backend, "written").inc()
            metrics.ARTIFACT_WRITE_BYTES.labels(backend).inc(len(attachment.data))
            stored.append(attachment)
        return stored
