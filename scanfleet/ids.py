"""Time-ordered ids (UUIDv7): the id carries its creation time, which is the partition key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import uuid_utils

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_id(at: datetime | None = None) -> uuid.UUID:
    """A new UUIDv7; `at` backdates it (retention and partition tests, imports of old data)."""
    # Integer arithmetic: a float timestamp in nanoseconds loses the milliseconds the id must carry.
    nanoseconds = None if at is None else (at - _EPOCH) // timedelta(microseconds=1) * 1000
    return uuid.UUID(bytes=uuid_utils.uuid7(nanoseconds=nanoseconds).bytes)


def created_at(id_: uuid.UUID) -> datetime:
    """The millisecond timestamp in a UUIDv7's first 48 bits; rows store exactly this as created_at."""
    if id_.version != 7:
        raise ValueError(f"not a UUIDv7: {id_}")
    millis = id_.int >> 80
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def parse(value: str) -> uuid.UUID | None:
    """A UUIDv7 from text, or None when the text is not one (callers answer 404): its version is not 7, or the
    time in it is past what a datetime holds (no row can have it)."""
    try:
        parsed = uuid.UUID(value)
        if parsed.version != 7:
            return None
        created_at(parsed)
    except (ValueError, OverflowError, OSError):  # fromtimestamp's range errors differ by platform
        return None
    return parsed
