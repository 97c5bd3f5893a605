from __future__ import annotations

import pytest

from scanfleet.webhooks.signing import sign, verify

SECRET = "whsec_test"
BODY = b'{"id":"e1","type":"scan.completed"}'
NOW = 1_700_000_000


def test_a_signature_verifies_for_its_body_and_secret() -> None:
    header = sign(SECRET, NOW, BODY)
    assert header.startswith(f"t={NOW},v1=") and len(header.split("v1=")[1]) == 64
    assert verify(SECRET, header, BODY, now=NOW + 299)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        (SECRET, BODY.replace(b"scan", b"scam"), NOW),  # tampered body
        ("whsec_other", BODY, NOW),  # wrong secret
        (SECRET, BODY, NOW + 301),  # stale: a replay of an old delivery
        (SECRET, BODY, NOW - 301),  # from too far in the future
    ],
)
def test_anything_else_does_not(secret: str, body: bytes, now: int) -> None:
    assert not verify(secret, sign(SECRET, NOW, BODY), body, now=now)


def test_a_moved_timestamp_breaks_the_signature() -> None:
    replayed = sign(SECRET, NOW, BODY).replace(f"t={NOW}", f"t={NOW + 600}")
    assert not verify(SECRET, replayed, BODY, now=NOW + 600)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=abc,v1=abc", f"t={NOW},t={NOW},v1=x", f"t=٣{NOW}", "garbage"])
def test_malformed_headers_are_refused(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=NOW)


def test_any_one_of_several_signatures_may_match() -> None:
    header = sign(SECRET, NOW, BODY)
    rotating = f"{header.split(',')[0]},v1={'0' * 64},{header.split(',')[1]}"
    assert verify(SECRET, rotating, BODY, now=NOW)
