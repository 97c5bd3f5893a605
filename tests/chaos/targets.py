"""The sites the stream scans, on loopback: fast and slow pages (127.0.0.1), one that returns 500 every
other request (127.0.0.3), and one that accepts connections and never answers (127.0.0.2: every request
times out). Each failing target has an address of its own: target circuits are kept per host, and a
dead site must not hold back the healthy ones."""

from __future__ import annotations

import itertools
import socket
import threading
from dataclasses import dataclass

from tests.support.services import ApiService, Request
from tests.support.site import FixtureSite, Page, html

SLOW_SECONDS = 0.5  # well inside the fetch read timeout: slow, not failing; long enough to be killed mid-job

PAGE = html(
    "<html><head><title>Shop</title><script src='https://www.googletagmanager.com/gtm.js?id=GTM-X1'></script>"
    "</head><body><a href='/privacy'>Privacy policy</a><img src='https://cdn.jsdelivr.net/x.png'></body></html>",
    ("Set-Cookie", "session=abc; Path=/; HttpOnly"),
    ("X-Content-Type-Options", "nosniff"),
)


class HalfFailing:
    """Every other request is a 500: a target whose errors are transient, half the time."""

    def __init__(self) -> None:
        self._count = itertools.count()
        self._lock = threading.Lock()

    def __call__(self, _request: Request) -> Page:
        with self._lock:
            failing = next(self._count) % 2 == 0
        return Page(500, [("Content-Type", "text/plain")], b"internal error") if failing else PAGE


class BlackHole:
    """Accepts every connection and keeps it open without reading or answering a byte."""

    def __init__(self, host: str) -> None:
        self._server = socket.create_server((host, 0), backlog=256)
        self.host = host
        self.port = int(self._server.getsockname()[1])
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:  # closed: the run is over
                return
            self._held.append(connection)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        for connection in self._held:
            connection.close()


@dataclass(frozen=True)
class TargetUrls:
    fast: str
    slow: str
    flaky: str
    timeout: str

    def of(self, kind: str) -> str:
        return str(getattr(self, kind))


class Targets:
    def __init__(self) -> None:
        self.site = FixtureSite()
        self.flaky = ApiService(host="127.0.0.3")
        self.flaky.routes["/half-500"] = HalfFailing()
        self.hole = BlackHole("127.0.0.2")
        self.urls = TargetUrls(
            fast=self.site.add("/fast", PAGE),
            slow=self.site.add("/slow", Page(PAGE.status, PAGE.headers, PAGE.body, delay=SLOW_SECONDS)),
            flaky=self.flaky.url("/half-500"),
            timeout=f"http://{self.hole.host}:{self.hole.port}/",
        )

    def __enter__(self) -> Targets:
        for server in (self.site, self.flaky, self.hole):
            server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self.hole, self.flaky, self.site):
            server.__exit__(*exc)
