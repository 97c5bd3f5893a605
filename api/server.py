"""The API on uvicorn: uvloop's event loop, httptools' parser, several worker processes behind one port, and HTTP/1.1
that answers oversized request heads with 431.

httptools sets no limit of its own on a request head. Here the head is counted as it arrives, and one over the limit
gets the API's JSON error with status 431: the sending side is shut, and whatever the client still sends is read and
dropped for a moment (a lingering close), so the answer reaches it rather than a reset."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from scanfleet.api.errors import error_body
from scanfleet.config import Settings
from scanfleet.metrics import MULTIPROCESS_DIR

LINGER_SECONDS = 2.0


class Http11(HttpToolsProtocol):
    # The limit is uvicorn's h11 setting, which means the same thing there: the bytes of an unfinished request head.
    _in_head = False
    _head_bytes = 0
    _chunk_bytes = 0
    _refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a head already answered with 431
        if self._in_head:
            self._head_bytes += len(data)
        self._chunk_bytes = len(data)
        super().data_received(data)
        limit = self.config.h11_max_incomplete_event_size
        if self._in_head and limit is not None and self._head_bytes > limit and not self._refused:
            self._refuse(limit)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # Its head began somewhere in this chunk: counting the whole chunk errs by at most a pipelined body's tail.
        self._in_head, self._head_bytes = True, self._chunk_bytes

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refused:
            return
        limit = self.config.h11_max_incomplete_event_size
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if limit is not None and size > limit:
            self._refuse(limit)
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def _refuse(self, limit: int) -> None:
        body = json.dumps(
            error_body("headers_too_large", f"the request line and headers are over {limit} bytes")
        ).encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def _options(settings: Settings) -> dict[str, Any]:  # uvicorn's keyword arguments, of many types
    return {
        "host": settings.api_host,
        "port": settings.api_port,
        "loop": "uvloop",
        "http": Http11,
        "h11_max_incomplete_event_size": settings.api_max_header_bytes,
        "log_config": None,
        "access_log": False,  # the request context writes the access lines (`scanfleet.api.context`)
        "timeout_graceful_shutdown": int(settings.api_grace_seconds),  # stop accepting, finish what's in flight
        "proxy_headers": True,
    }


def config(app: FastAPI, settings: Settings, **overrides: object) -> uvicorn.Config:
    """One server process serving `app` as `python -m scanfleet.api` serves it (tests serve it so, on a port of
    their own)."""
    return uvicorn.Config(app, **(_options(settings) | overrides))


def run(factory: str, settings: Settings) -> None:
    """Serve the app `factory` ("module:function", called in each worker process) with `settings.api_workers`
    processes behind one port. SIGTERM reaches every worker, and each stops as one process would."""
    with _shared_metrics(settings.api_workers):
        uvicorn.run(
            factory, factory=True, workers=settings.api_workers,
            # A worker answers its supervisor's pings once it has imported the app: on a busy machine that takes
            # longer than uvicorn's 5 s, and a worker not answering by then is killed and started again.
            timeout_worker_healthcheck=60, **_options(settings),
        )  # fmt: skip


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, their metrics live in files of a directory they share, and any one of them answers
    /metrics for all (prometheus_client's multiprocess mode); the directory goes when the server does."""
    if workers == 1 or MULTIPROCESS_DIR in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="scanfleet-api-metrics-") as directory:
        os.environ[MULTIPROCESS_DIR] = directory  # the workers inherit it
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR]
