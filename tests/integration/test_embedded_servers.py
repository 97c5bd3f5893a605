"""The embedded servers are ready for commands when `start` returns, also after a restart with data."""

from __future__ import annotations

from pathlib import Path

import redis

from scanfleet.embedded import EmbeddedValkey

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
