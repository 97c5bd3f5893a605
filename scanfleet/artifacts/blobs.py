"""What every blob backend offers, and how blobs are named."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

_KEY = re.compile(r"^([0-9a-f-]{36})/([0-9a-f]{64})$")
# Served as what they are; anything else (a document carries its target's own Content-Type) is served as bytes
# to download, so a target's HTML or SVG never renders, let alone runs, from a download link.
_SERVED_AS_IS = frozenset({"image/png", "application/json"})
OPAQUE = "application/octet-stream"


def blob_key(org_id: uuid.UUID, sha256: str) -> str:
    """Under the org's own prefix: one organisation's erase lists and deletes only its own blobs."""
    return f"{org_id}/{sha256}"


def parse_key(key: str) -> tuple[uuid.UUID, str] | None:
    """(org, sha256) of a key this platform wrote; None for anything else (which a sweep never touches)."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    try:
        return uuid.UUID(match[1]), match[2]
    except ValueError:
        return None


def served_type(content_type: str) -> str:
    """The Content-Type a download of an artifact stored with `content_type` is served with."""
    return content_type if content_type.split(";")[0].strip().lower() in _SERVED_AS_IS else OPAQUE


@dataclass(frozen=True)
class Blob:
    key: str
    size: int
    modified: datetime


class StoreUnavailable(Exception):
    """The store could not be reached or refused for its own reasons (not the blob's): try again later."""


class BlobRefused(Exception):
    """The store refused this blob for itself (over its object-size limit, a conflict): trying again would fail
    again, so the artifact is left out and the job's result kept."""


class BlobMissing(Exception):
    """No blob under that key."""


class BlobStore(Protocol):
    name: str  # "local" or "s3": the metrics' backend label

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`; a blob already there gets its modification time renewed (the sweep's grace
        runs from the last write that may be about to reference it)."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; BlobMissing before the first chunk when there is none."""
        ...

    async def signed_url(self, key: str, seconds: int, content_type: str, filename: str) -> str | None:
        """A link that downloads the blob for `seconds` without credentials; None where the backend has none."""
        ...

    def listing(self, prefix: str = "") -> AsyncIterator[list[Blob]]:
        """Every blob whose key starts with `prefix`, a page at a time."""
        ...

    async def delete(self, keys: list[str], written_before: datetime) -> set[str]:
        """Remove these blobs unless written again since `written_before` (a put that renewed one after it was
        listed may be about to be referenced); returns the keys removed. A key with no blob is no error."""
        ...

    async def close(self) -> None: ...
