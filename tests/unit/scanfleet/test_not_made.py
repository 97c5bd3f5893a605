"""A submission whose row PostgreSQL did not make: which errors a batch shares with every submission in it, and
how a batch's URL answers one."""

from __future__ import annotations

import asyncpg

from scanfleet.api.admission import refusal
from scanfleet.db.errors import unavailable, unavailable_to_all
from scanfleet.lifecycle import NotMade


def test_a_connection_lost_mid_statement_fails_that_statement_not_every_one() -> None:
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    assert unavailable(lost) and not unavailable_to_all(lost)
    for away in (ConnectionRefusedError(), asyncpg.CannotConnectNowError("starting up"), TimeoutError()):
        assert unavailable_to_all(away)
    assert not unavailable_to_all(asyncpg.UntranslatableCharacterError("\\u0000"))


def test_a_url_whose_row_was_not_made_is_answered_unavailable_or_internal_error() -> None:
    away = refusal(NotMade(ConnectionRefusedError()))
    assert (away.status, away.code, away.headers) == (503, "unavailable", {"Retry-After": "5"})
    refused = refusal(NotMade(asyncpg.UntranslatableCharacterError("\\u0000")))
    assert (refused.status, refused.code) == (500, "internal_error")
    assert "nothing of it was accepted" in refused.message
