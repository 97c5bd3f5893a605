"""The embedded servers are ready for commands when `start` returns, also after a restart with data."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from scanfleet.embedded import EmbeddedPostgres, EmbeddedServerError, EmbeddedValkey

KEYS = 1_000_000  # Valkey takes a while to read these back, answering LOADING meanwhile
FILL = "for n = 1, tonumber(ARGV[1]) do redis.call('SET', 'k' .. n, n) end"


def test_a_restarted_valkey_answers_once_start_returns(tmp_path: Path) -> None:
    server = EmbeddedValkey(tmp_path / "valkey")
    try:
        server.start(persist=True)
        with redis.Redis.from_url(server.url()) as client:
            client.eval(FILL, 0, KEYS)
        server.stop()  # SIGTERM: the append-only file is flushed first
        server.start(persist=True)
        with redis.Redis.from_url(server.url()) as client:
            assert client.dbsize() == KEYS
    finally:
        server.stop()


def test_postgresql_starts_under_a_deep_project_directory(tmp_path: Path) -> None:
    # A Unix socket under this directory would have a path over the 107 bytes PostgreSQL accepts.
    deep = tmp_path / ("project-in-a-deeply-nested-directory-" * 3) / ".scanfleet" / "postgres"
    server = EmbeddedPostgres(deep)
    try:
        url = server.start()
        assert url.startswith("postgresql://postgres@127.0.0.1:")
    finally:
        server.stop()


def test_a_server_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    first, second = EmbeddedPostgres(tmp_path / "postgres"), EmbeddedPostgres(tmp_path / "postgres")
    try:
        first.start()
        with pytest.raises(EmbeddedServerError) as caught:
            second.start()  # the same data directory
    finally:
        first.stop()
    message = str(caught.value)
    assert "\n" not in message and 'lock file "postmaster.pid" already exists' in message
