"""/healthz on a metrics port follows the event loop: 503 while it is stuck, 200 once it turns again;
/metrics answers throughout."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from scanfleet.liveness import LoopWatch, serve_metrics, serve_metrics_or_move

STALL = 0.5


@pytest.fixture
def served() -> Iterator[tuple[int, LoopWatch]]:
    watch = LoopWatch(STALL)
    server = serve_metrics(0, "127.0.0.1", watch)
    yield server.server_port, watch
    server.shutdown()
    server.server_close()


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _poll(port: int, status: int, deadline: float = 10.0) -> dict[str, object]:
    """Wait until /healthz answers `status` (blocking: call it from a thread other than the loop's)."""
    until = time.monotonic() + deadline
    while True:
        code, body = _get(port, "/healthz")
        if code == status:
            return dict(json.loads(body))
        if time.monotonic() > until:
            raise AssertionError(f"/healthz stayed {code} ({body!r}), wanted {status}")
        time.sleep(0.02)


async def test_healthz_fails_while_the_loop_is_stuck_and_recovers(served: tuple[int, LoopWatch]) -> None:
    port, watch = served
    async with watch.beating():
        assert (await asyncio.to_thread(_poll, port, 200))["status"] == "ok"

        seen: dict[str, object] = {}
        released = threading.Event()

        def probe() -> None:
            try:
                seen["healthz"] = _poll(port, 503)
                seen["metrics"] = _get(port, "/metrics")
            finally:
                released.set()

        prober = threading.Thread(target=probe)
        prober.start()
        released.wait(15)  # the loop itself blocks here, as in a stuck call, until the probe has seen it
        prober.join(5)

        assert seen["healthz"] == {"status": "stalled", "loop_silent_seconds": pytest.approx(STALL, abs=5)}
        assert seen["metrics"][0] == 200 and b"python_info" in seen["metrics"][1]  # type: ignore[index]
        assert _get(port, "/healthz")[0] == 503, "no beat yet: the loop has not turned since it was released"

        assert (await asyncio.to_thread(_poll, port, 200))["status"] == "ok"


async def test_healthz_fails_once_nothing_beats(served: tuple[int, LoopWatch]) -> None:
    port, watch = served
    async with watch.beating():
        await asyncio.to_thread(_poll, port, 200)
    assert (await asyncio.to_thread(_poll, port, 503))["status"] == "stalled"


def test_a_taken_metrics_port_moves_to_a_free_one_and_says_where(caplog: pytest.LogCaptureFixture) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="scanfleet.liveness"):
            server = serve_metrics_or_move(port, "127.0.0.1", LoopWatch(STALL))
        try:
            assert server.server_port != port
            assert _get(server.server_port, "/metrics")[0] == 200
            [said] = [record.getMessage() for record in caplog.records]
            assert said == (
                f"metrics port {port} is in use by another process; "
                f"serving /metrics on 127.0.0.1:{server.server_port} instead"
            )
        finally:
            server.shutdown()
            server.server_close()
