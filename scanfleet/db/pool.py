"""The asyncpg pool every process uses, configured from Settings."""

from __future__ import annotations

import json
from typing import TypedDict

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from scanfleet.config import Settings

# A connection of its own or one lent by a pool: asyncpg's proxy passes every call through (the stubs
# keep the two types apart).
Connection = asyncpg.Connection | PoolConnectionProxy
Executor = Connection | asyncpg.Pool  # where one statement may run on a connection or any of a pool's


class ConnectOptions(TypedDict):
    timeout: float
    command_timeout: float
    statement_cache_size: int
    server_settings: dict[str, str]


def _encode_jsonb(value: object) -> bytes:
    """Binary jsonb: version 1, then the text. Bytes are JSON text encoded already (storable_json)."""
    text = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b"\x01" + text


def _decode_jsonb(data: bytes) -> object:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary, so COPY (which speaks only binary) can write jsonb columns too.
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


async def _init_by_key(conn: asyncpg.Connection) -> None:
    await _init_connection(conn)
    # A SET once per session, not a startup parameter: a PgBouncer in session mode refuses parameters it does not
    # know.
    await conn.execute("SET plan_cache_mode = force_generic_plan")


async def _release(conn: asyncpg.Connection) -> None:
    """Replaces asyncpg's reset query on release, a round trip per use of the pool.

    Nothing here changes session state on pooled connections (no SET, LISTEN, cursors or session advisory
    locks — PgBouncer's transaction mode forbids them anyway; a pool's own settings are made when it connects), so
    only an unfinished transaction is undone.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def connect_kwargs(settings: Settings) -> ConnectOptions:
    """Options shared by the pool and by single connections (migrations, the CLI)."""
    return {
        "timeout": settings.db_connect_timeout_seconds,
        "command_timeout": settings.db_command_timeout_seconds,
        # PgBouncer in transaction mode hands each transaction to any server connection: a prepared
        # statement made on one is unknown on the next, so the cache must be off.
        "statement_cache_size": 0 if settings.db_pgbouncer else 100,
        "server_settings": {"application_name": "scanfleet", "timezone": "UTC"},
    }


async def create_pool(settings: Settings, url: str | None = None, *, by_key: bool = False) -> asyncpg.Pool:
    """`by_key`: every statement on the pool names its rows by primary key (a worker's). For those, a prepared
    statement's generic plan prunes the day partitions as it runs, while PostgreSQL's default, judging the generic
    plan by its cost over every partition, would plan each call anew (a claim spent three times as long planning
    as running). So such a pool's sessions keep generic plans; with PgBouncer in transaction mode nothing is cached
    (and sessions are shared), and nothing changes."""
    dsn = url or settings.database_url
    if not dsn:
        raise RuntimeError("DATABASE_URL is not set (run `scanfleet up` to start an embedded PostgreSQL)")
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        init=_init_by_key if by_key and not settings.db_pgbouncer else _init_connection,
        reset=_release,
        **connect_kwargs(settings),
    )
    assert pool is not None
    return pool


async def create_read_pool(settings: Settings) -> asyncpg.Pool | None:
    """A pool on the streaming replica (DATABASE_READ_URL) for reads that may lag the primary; None when unset."""
    return await create_pool(settings, settings.database_read_url) if settings.database_read_url else None


async def connect(settings: Settings, url: str | None = None) -> asyncpg.Connection:
    conn = await asyncpg.connect(url or settings.database_url, **connect_kwargs(settings))
    await _init_connection(conn)
    return conn
