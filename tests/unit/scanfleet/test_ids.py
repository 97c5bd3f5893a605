from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from scanfleet import ids


def test_ids_are_time_ordered_and_carry_their_creation_time() -> None:
    before = datetime.now(UTC)
    made = [ids.new_id() for _ in range(200)]
    after = datetime.now(UTC)
    assert made == sorted(made)
    stamp = ids.created_at(made[0])
    assert before - timedelta(milliseconds=1) <= stamp <= after


def test_backdated_id_reports_that_time() -> None:
    at = datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=UTC)
    assert ids.created_at(ids.new_id(at=at)) == at


def test_parse_accepts_only_uuid7() -> None:
    made = ids.new_id()
    assert ids.parse(str(made)) == made
    assert ids.parse(str(uuid.uuid4())) is None
    assert ids.parse("not-a-uuid") is None
    with pytest.raises(ValueError, match="UUIDv7"):
        ids.created_at(uuid.uuid4())


def test_parse_refuses_a_uuid7_whose_time_no_datetime_holds() -> None:
    # Version 7 and variant bits right, but its 48-bit millisecond count is year 10889.
    assert ids.parse("ffffffff-ffff-7fff-bfff-ffffffffffff") is None
    latest = ids.new_id(at=datetime(9999, 12, 31, tzinfo=UTC))
    assert ids.parse(str(latest)) == latest
