"""A fixture website on 127.0.0.1: each path answers with a fixed status, headers and body."""

from __future__ import annotations

import ssl
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

import trustme

T = TypeVar("T")


@dataclass
class Page:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering: a slow target


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hang up on purpose (size limits, timeouts, closed keep-alive): not an error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FixtureSite:
    """Plain HTTP, or HTTPS with a certificate from `ca` (a trustme test CA) for 127.0.0.1 and localhost."""

    def __init__(self, ca: trustme.CA | None = None, host: str = "127.0.0.1", **cert_options: Any) -> None:
        # A list answers its pages in turn, the last one ever after (a target that fails, then recovers).
        self.pages: dict[str, Page | list[Page]] = {}
        self.hits: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the body waits ~40 ms for an ACK.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                page = site.pages.get(path, Page(404, [("Content-Type", "text/plain")], b"not found"))
                if isinstance(page, list):
                    page = page[min(site.hits[path], len(page)) - 1]
                send_page(self, page)

            def log_message(self, *args: object) -> None:
                pass

        self.host = host
        self._server = _QuietServer((host, 0), Handler)
        self.scheme = "http"
        if ca is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost", **cert_options).configure_cert(context)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def add(self, path: str, page: Page | list[Page]) -> str:
        self.pages[path] = page
        return self.url(path)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def html(body: str, *headers: tuple[str, str], status: int = 200) -> Page:
    return Page(status, [("Content-Type", "text/html; charset=utf-8"), *headers], body.encode())


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0, interval: float = 0.02) -> T:
    """Poll an async `check` until it returns something truthy, or fail at the deadline."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


async def past(moment: float) -> None:
    """Until the wall clock (epoch seconds) has passed `moment`: a timeout that runs on `time.time()`."""

    async def reached() -> bool:
        return time.time() >= moment

    await eventually(reached)


def until(check: Callable[[], object], timeout: float = 15.0, interval: float = 0.02) -> object:
    """`eventually` for a plain `check`, from synchronous tests."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)
    return result


def send_page(handler: BaseHTTPRequestHandler, page: Page) -> None:
    """Answer `handler`'s request with `page`, after its delay."""
    if page.delay:
        time.sleep(page.delay)
    handler.send_response(page.status)
    for name, value in page.headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(page.body)))
    handler.end_headers()
    handler.wfile.write(page.body)
