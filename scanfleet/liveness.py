"""The metrics port of the worker, scheduler and autoscaling supervisor, with a `/healthz` that fails once the
process's event loop stops turning.

The port is served from a thread of its own, so `/metrics` still answers while the loop is stuck (a blocking
call, a busy loop): a liveness probe on it could never restart such a process. `/healthz` instead reads the
time of the loop's last beat. It never asks PostgreSQL or Redis: an outage the processes wait out must not
restart them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from scanfleet.ports import listen_on

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class LoopWatch:
    """Beats on the event loop it runs on; read from any thread."""

    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self._beat = time.monotonic()

    @contextlib.asynccontextmanager
    async def beating(self) -> AsyncIterator[None]:
        """Beat on the running loop for as long as the block runs."""
        task = asyncio.create_task(self._keep_beating())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _keep_beating(self) -> None:
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(self.stall_seconds / 10)

    def silent_for(self) -> float:
        """Seconds since the loop last beat."""
        return time.monotonic() - self._beat


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes and scrapes every few seconds: not worth a log line each."""


def _server_class(family: socket.AddressFamily) -> type[ThreadingWSGIServer]:
    class MetricsServer(ThreadingWSGIServer):
        address_family = family  # an IPv6 host ("::") needs its own family

    return MetricsServer


def serve_metrics(port: int, host: str, watch: LoopWatch) -> ThreadingWSGIServer:
    """Serve `/healthz` from `watch` and the metrics on every other path, from a daemon thread (port 0: any free
    one, read it from the server returned)."""
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/healthz":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        silent = watch.silent_for()
        alive = silent < watch.stall_seconds
        status = "200 OK" if alive else "503 Service Unavailable"
        body = json.dumps({"status": "ok" if alive else "stalled", "loop_silent_seconds": round(silent, 3)}).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server = make_server(host, port, app, _server_class(family), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def serve_metrics_or_move(port: int, host: str, watch: LoopWatch) -> ThreadingWSGIServer:
    """`serve_metrics`, moved to a free port (and said so) when another process on this machine has `port`: a
    worker joining a local platform from another terminal finds its index's port in use by one of `up`'s."""
    server, moved = listen_on(port, lambda chosen: serve_metrics(chosen, host, watch))
    if moved:
        log.warning(
            "metrics port %s is in use by another process; serving /metrics on %s:%s instead",
            port, host, server.server_port,
        )  # fmt: skip
    return server
