"""Fixture services for check runs, on 127.0.0.1: a small JSON API with a login, and endpoints that are
slow, flaky, redirecting, echoing, or behind basic auth. Plain HTTP, or HTTPS from a trustme CA."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import trustme

from tests.support.site import FixtureSite, Page

USERNAME, PASSWORD = "ada", "lovelace"

ITEMS: dict[str, Any] = {
    "items": [
        {"id": 1, "name": "alpha", "price": 9.5, "tags": ["new", "sale"]},
        {"id": 2, "name": "beta", "price": 20, "tags": []},
    ],
    "count": 2,
    "next": None,
    "empty": [],
    "owner": {"name": "Ada Lovelace", "active": True},
    "version": "2.1",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes

    def cookie(self, name: str) -> str | None:
        pairs = (part.strip().partition("=") for part in (self.headers.get("Cookie") or "").split(";"))
        return next((value for key, _, value in pairs if key == name), None)


def json_page(data: Any, status: int = 200, *headers: tuple[str, str]) -> Page:
    return Page(status, [("Content-Type", "application/json"), *headers], json.dumps(data).encode())


def text_page(text: str, status: int = 200, *headers: tuple[str, str]) -> Page:
    return Page(status, [("Content-Type", "text/plain; charset=utf-8"), *headers], text.encode())


class ApiService(FixtureSite):
    """FixtureSite's server, TLS and lifecycle, with routes that look at the request."""

    def __init__(self, ca: trustme.CA | None = None, **cert_options: Any) -> None:
        super().__init__(ca, **cert_options)
        self.tokens: set[str] = set()
        self.attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.routes: dict[str, Callable[[Request], Page]] = {
            "/login": self._login,
            "/me": self._me,
            "/session": self._session,
            "/items": lambda _request: json_page(ITEMS),
            "/slow": lambda request: Page(200, [], b"finally", delay=int(request.query.get("ms", "300")) / 1000),
            "/flaky": self._flaky,
            "/redirect": self._redirect,
            "/loop": lambda _request: Page(302, [("Location", "/loop")], b""),
            "/headers": self._headers,
            "/echo": self._echo,
            "/basic": self._basic,
            "/html": lambda _request: Page(200, [("Content-Type", "text/html")], b"<h1>Welcome, order #4521</h1>"),
            "/big": lambda request: text_page("a" * int(request.query.get("bytes", "10000"))),
        }
        service = self

        class Handler(self._server.RequestHandlerClass):  # type: ignore[name-defined, misc]
            def do_GET(self) -> None:
                service._answer(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        self._server.RequestHandlerClass = Handler

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        request = Request(handler.command, split.path, dict(parse_qsl(split.query)), handler.headers, body)
        route = self.routes.get(split.path)
        page = route(request) if route else text_page("not found", 404)
        if page.delay:
            time.sleep(page.delay)  # the slow endpoint: its delay is what the test measures
        handler.send_response(page.status)
        for name, value in [*page.headers, ("Content-Length", str(len(page.body)))]:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(page.body)

    def _login(self, request: Request) -> Page:
        if request.method != "POST":
            return json_page({"error": "use POST"}, 405)
        try:
            credentials = json.loads(request.body)
        except ValueError:
            return json_page({"error": "send JSON"}, 400)
        if credentials != {"username": USERNAME, "password": PASSWORD}:
            return json_page({"error": "invalid credentials"}, 401)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return json_page({"token": token, "expires_in": 3600}, 200, ("Set-Cookie", f"session={token}; Path=/"))

    def _me(self, request: Request) -> Page:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens:
            return json_page({"error": "unauthorized"}, 401, ("WWW-Authenticate", "Bearer"))
        return json_page({"user": {"name": USERNAME, "roles": ["admin", "dev"]}, "token_seen": token})

    def _session(self, request: Request) -> Page:
        if request.cookie("session") not in self.tokens:
            return json_page({"error": "no session"}, 401)
        return json_page({"session": "ok"})

    def _flaky(self, request: Request) -> Page:
        """Fails `fails` times per `key`, then succeeds: give each test a key of its own."""
        key = request.query.get("key", "")
        with self._lock:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            attempt = self.attempts[key]
        if attempt <= int(request.query.get("fails", "1")):
            return text_page(f"unavailable (attempt {attempt})", 503)
        return text_page(f"ok after {attempt} attempts")

    def _redirect(self, request: Request) -> Page:
        target = request.query.get("to", "/items")
        return Page(int(request.query.get("status", "302")), [("Location", target)], b"")

    def _headers(self, _request: Request) -> Page:
        return text_page("headers", 200, ("X-Api-Version", "2.1.0"), ("Cache-Control", "no-store, private"))

    def _echo(self, request: Request) -> Page:
        content_type = request.headers.get("Content-Type") or ""
        text = request.body.decode()
        return json_page(
            {
                "method": request.method,
                "content_type": content_type,
                "body": text,
                "form": dict(parse_qsl(text)) if content_type.startswith("application/x-www-form-urlencoded") else None,
                "json": json.loads(text) if content_type.startswith("application/json") else None,
                "headers": {name.lower(): value for name, value in request.headers.items()},
            }
        )

    def _basic(self, request: Request) -> Page:
        expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return text_page("who are you?", 401, ("WWW-Authenticate", 'Basic realm="fixture"'))
        return text_page(f"welcome {USERNAME}")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class GarbageServer:
    """Answers every connection with bytes that are not HTTP, then hangs up."""

    def __init__(self) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(65536)
                self.request.sendall(b"SSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])

    def __enter__(self) -> GarbageServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
