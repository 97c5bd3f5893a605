"""A small fake internet on 127.0.0.1: one HTTP and one HTTPS server answering for every host name.

Browsers reach it through SCANFLEET_FETCH_RESOLVE (`*:443:127.0.0.1:<https port>,*:80:127.0.0.1:<http port>`),
so pages name real-looking hosts (shop.test, www.googletagmanager.com) and first/third-party judgements, vendor
tables and blocklists work as they do on the web. Every request is logged with its host, path and body.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network

import trustme

from scanfleet.config import Settings
from scanfleet.http import ResolveMap, parse_resolve
from tests.support.site import Page, send_page


@dataclass(frozen=True)
class Hit:
    scheme: str
    host: str
    path: str  # with its query
    method: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Internet:
    """Pages by (host, path without query); a callable answers dynamically (it gets the Hit)."""

    ca: trustme.CA
    hosts: tuple[str, ...]
    pages: dict[tuple[str, str], Page | Callable[[Hit], Page]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        internet = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                host = (self.headers.get("host") or "").split(":")[0].lower()
                scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
                hit = Hit(scheme, host, self.path, self.command, body, {k.lower(): v for k, v in self.headers.items()})
                internet.hits.append(hit)
                page = internet.pages.get((host, self.path.split("?")[0]), Page(404, [], b"not found"))
                if callable(page):
                    page = page(hit)
                send_page(self, page)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args: object) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # browsers hang up on purpose all the time

        self._http = Quiet(("127.0.0.1", 0), Handler)
        self._https = Quiet(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*self.hosts).configure_cert(context)
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self._http, self._https)]

    @property
    def http_port(self) -> int:
        return self._http.server_address[1]

    @property
    def https_port(self) -> int:
        return self._https.server_address[1]

    @property
    def resolve(self) -> str:
        """The SCANFLEET_FETCH_RESOLVE value that sends every host here (for processes configured by env)."""
        return f"*:443:127.0.0.1:{self.https_port},*:80:127.0.0.1:{self.http_port}"

    @property
    def resolve_map(self) -> ResolveMap:
        return parse_resolve(self.resolve)

    def add(self, url: str, page: Page | Callable[[Hit], Page]) -> str:
        rest = url.partition("://")[2]
        host, _, path = rest.partition("/")
        self.pages[(host.split(":")[0], "/" + path.split("?")[0])] = page
        return url

    def hits_to(self, host: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.host == host]

    def __enter__(self) -> Internet:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self._http, self._https):
            server.shutdown()
            server.server_close()


def script(source: str, *headers: tuple[str, str]) -> Page:
    return Page(200, [("Content-Type", "application/javascript"), *headers], source.encode())


def pixel(*headers: tuple[str, str]) -> Page:
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501
    return Page(200, [("Content-Type", "image/gif"), *headers], gif)


def browsing(settings: Settings, internet: Internet, **update: object) -> Settings:
    """`settings` for a browser worker on `internet`: every host resolved to it, only 127.0.0.1 allowed, and a short
    settle (the fake vendors inject their tags within milliseconds; a real page needs seconds)."""
    return settings.model_copy(
        update={
            "worker_engine": "browser",
            "fetch_resolve": internet.resolve_map,
            "fetch_allow_networks": [ip_network("127.0.0.1/32")],
            "browser_settle_seconds": 0.5,
            "browser_page_seconds": 15,
            **update,
        }
    )
