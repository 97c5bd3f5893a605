"""Share tokens: what was signed comes back until it expires; anything altered or signed otherwise does not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from scanfleet.reports.share import Share, ShareExpired, ShareInvalid, sign, verify

SECRET = "a-secret-of-the-platform-long-enough"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
SHARE = Share("privacy", uuid.uuid4(), uuid.uuid4(), NOW + timedelta(hours=1))


def test_a_token_verifies_to_what_was_signed_until_it_expires() -> None:
    token = sign(SECRET, SHARE)
    assert verify(SECRET, token, NOW) == SHARE
    with pytest.raises(ShareExpired) as expired:
        verify(SECRET, token, SHARE.expires_at)
    assert expired.value.expired_at == SHARE.expires_at


def test_an_altered_token_another_secret_or_another_shape_is_invalid() -> None:
    token = sign(SECRET, SHARE)
    payload, signature = token.rsplit(".", 1)
    other_org = sign(SECRET, Share("privacy", SHARE.job_id, uuid.uuid4(), SHARE.expires_at)).rsplit(".", 1)[0]
    ours = URLSafeSerializer(SECRET, salt="scanfleet.report-share.v1")
    forged = [
        f"{other_org}.{signature}",  # another organisation's payload under this signature
        f"{payload}.{signature[:-2]}AA",
        sign("another-secret-entirely-of-some-length", SHARE),
        "not-a-token",
        "",
        # Signed with the secret but not by the share links (another salt), or of another shape.
        URLSafeSerializer(SECRET).dumps(["privacy", SHARE.job_id.hex, SHARE.org_id.hex, 2**40]),
        ours.dumps({"kind": "privacy"}),
        ours.dumps(["privacy", "00", "00", 2**40]),
        ours.dumps(["admin", SHARE.job_id.hex, SHARE.org_id.hex, 2**40]),
    ]
    for token in forged:
        with pytest.raises(ShareInvalid):
            verify(SECRET, token, NOW)
