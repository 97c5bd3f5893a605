"""Telling "PostgreSQL is not there right now" apart from every other database error."""

from __future__ import annotations

import asyncpg

# Connection refused or reset, a server starting up or shutting down, no connection slot, a pool that
# could not get a connection in time: each passes when the server is back. Anything else is a real error.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
)


def unavailable(exc: BaseException) -> bool:
    return isinstance(exc, UNAVAILABLE)


def unavailable_to_all(exc: BaseException) -> bool:
    """PostgreSQL away for every statement, not only for the connection one was on: a connection lost mid-statement
    fails its own statement, which may be made again on another."""
    return unavailable(exc) and not isinstance(exc, asyncpg.ConnectionDoesNotExistError)
