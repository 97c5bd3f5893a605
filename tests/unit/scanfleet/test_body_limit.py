"""The body limit's check of a request's framing, before the app reads anything."""

from __future__ import annotations

from starlette.types import Message

from scanfleet.api.bodylimit import BodyLimit


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"type": "http", "method": "POST", "path": "/v1/scans", "headers": list(headers)}


def test_a_declared_length_past_what_int_reads_is_refused_as_too_large_not_a_crash() -> None:
    refusal, _ = BodyLimit(1024).check(scope((b"content-length", b"9" * 5000)), receive)
    assert refusal is not None and refusal.status_code == 413


def test_a_declared_length_within_the_limit_is_read_as_sent_and_anything_else_is_counted() -> None:
    limit = BodyLimit(1024)
    assert limit.check(scope((b"content-length", b"1024")), receive) == (None, receive)
    refusal, counted = limit.check(scope((b"content-length", b"1025")), receive)
    assert refusal is not None and refusal.status_code == 413
    for framing in (
        [(b"transfer-encoding", b"chunked")],
        [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")],
        [],
    ):
        refusal, counted = limit.check(scope(*framing), receive)
        assert refusal is None and counted is not receive
