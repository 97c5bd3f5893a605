"""The API on uvicorn: its server settings, and HTTP/1.1 that answers oversized request heads with 431.

uvicorn's h11 protocol answers a request head over its limit with a plain-text 400 and closes at once, while the
client is still sending: the client's kernel then sees a reset and the answer is lost. Here such a head gets the
API's JSON error with status 431, the sending side is shut, and whatever the client still sends is read and dropped
for a moment (a lingering close), so the answer reaches it."""

from __future__ import annotations

import asyncio
import json

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from scanfleet.api.errors import error_body
from scanfleet.config import Settings

LINGER_SECONDS = 2.0


class Http11(H11Protocol):
    _refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a head already answered with 431
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        limit = self.config.h11_max_incomplete_event_size
        buffered, _ = self.conn.trailing_data
        if limit is None or len(buffered) <= limit:
            super().send_400_response(msg)
            return
        body = json.dumps(
            error_body("headers_too_large", f"the request line and headers are over {limit} bytes")
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        for event in (h11.Response(status_code=431, headers=headers), h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)


def config(app: FastAPI, settings: Settings, **overrides: object) -> uvicorn.Config:
    """How `python -m scanfleet.api` serves `app` (tests serve it the same way, on a port of their own)."""
    options: dict[str, object] = {
        "host": settings.api_host,
        "port": settings.api_port,
        "http": Http11,
        "h11_max_incomplete_event_size": settings.api_max_header_bytes,
        "log_config": None,
        "timeout_graceful_shutdown": int(settings.api_grace_seconds),  # stop accepting, finish what's in flight
        "proxy_headers": True,
    }
    return uvicorn.Config(app, **(options | overrides))  # type: ignore[arg-type]
