"""The SSRF guard on the browser's path: a forward proxy that every request of a scan's browser context goes through.

Chromium hands the proxy a host name, never an address (CONNECT host:port for https and wss, an absolute URI
for http and ws), so the proxy resolves it itself through the project's guard (the same AddressPolicy and
SCANFLEET_FETCH_RESOLVE mapping as httpx), refuses what the policy refuses, and connects to exactly the
address it checked: documents, subresources, frames, redirects, fetch/XHR, beacons, WebSockets and service
workers alike, and a name whose address changes between lookups cannot slip past (each connection is looked
up and judged once, then used as judged).

One proxy serves one scan, so what it counts (connections, bytes) and refuses is that page's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from scanfleet.http import BlockedAddressError, GuardedBackend, ResolutionError
from scanfleet.http.failures import dns_code

log = logging.getLogger(__name__)

_HEAD_LIMIT = 64 * 1024  # a request or response head larger than this is refused
_CHUNK = 64 * 1024
_HOP_BY_HOP = frozenset({b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive"})
_CLOSE_SECONDS = 2.0
_MAX_LOGGED = 10_000  # connections itemised per page; past this they are only counted


@dataclass
class Connection:
    """One connection the browser asked the proxy for."""

    host: str
    port: int
    tunnel: bool  # CONNECT (https, wss) rather than a forwarded http request
    path: str | None = None  # a forwarded http request's path and query (a tunnel's requests are not seen)
    outcome: str = "pending"  # connected, blocked_address, dns_error, dns_unavailable, connect_error, limit, denied
    address: str | None = None  # the address the guard checked and the proxy connected to
    sent: int = 0  # bytes browser → target
    received: int = 0  # bytes target → browser


class GuardedProxy:
    """An asyncio HTTP proxy on 127.0.0.1 whose every connection passes `guard` (or none, with deny_all)."""

    def __init__(
        self,
        guard: GuardedBackend | None,
        *,
        max_connections: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        connect_seconds: float = 5.0,
        read_seconds: float = 30.0,
    ) -> None:
        self._guard = guard  # None: refuse everything (the browser's fallback proxy, used by no scan)
        self.max_connections = max_connections
        self.max_bytes = max_bytes
        self._connect_seconds = connect_seconds
        self._read_seconds = read_seconds
        self.connections: list[Connection] = []
        self.connection_count = 0
        self.bytes = 0
        self.limit_hit: str | None = None  # "connections" or "bytes" once a limit stopped the page's traffic
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the proxy first"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> GuardedProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # every handler then reads its end and finishes
        if self._handlers:
            _done, stuck = await asyncio.wait(list(self._handlers), timeout=_CLOSE_SECONDS)
            for task in stuck:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> GuardedProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def connection_to(self, host: str, port: int) -> Connection | None:
        """The first connection the browser asked for to `host`:`port` (host lower-case, no brackets)."""
        return next((c for c in self.connections if (c.host, c.port) == (host, port)), None)

    def refusal(self, url: str, *, failed: bool) -> str | None:
        """Why the proxy refused the request for `url`, if it did: an http request is known by its path; of a
        request that failed inside a tunnel only its host and port are, so any refusal of those counts."""
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme in ("https", "wss") else 80)
        path = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
        for connection in self.connections:
            if (connection.host, connection.port) != (host, port) or connection.outcome in ("connected", "pending"):
                continue
            if connection.path == path or (connection.tunnel and failed):
                return connection.outcome
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # the browser hung up, or sent something no browser sends
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(30):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line, _, header_block = head.partition(b"\r\n")
        method, target, _version = _split_request_line(request_line)
        tunnel = method == b"CONNECT"
        where = _target(target, tunnel)
        if where is None:
            await _answer(writer, 400, "not a proxy request")
            return
        host, port, path = where
        connection = self._log(Connection(host, port, tunnel, None if tunnel else path))
        refusal = self._refusal(connection)
        if refusal is not None:
            await _answer(writer, 403, refusal)
            return
        upstream = await self._connect(connection)
        if upstream is None:
            await _answer(writer, 403 if connection.outcome == "blocked_address" else 502, connection.outcome)
            return
        up_reader, up_writer = upstream
        self._writers.add(up_writer)
        try:
            if tunnel:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                up_writer.write(_origin_request(method, path, header_block))
                connection.sent += len(head)
                async with asyncio.timeout(self._read_seconds):
                    response_head = await up_reader.readuntil(b"\r\n\r\n")
                connection.received += len(response_head)
                writer.write(_closing_response(response_head))
            await asyncio.gather(
                self._pump(reader, up_writer, connection, sent=True),
                self._pump(up_reader, writer, connection, sent=False),
            )
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    def _log(self, connection: Connection) -> Connection:
        self.connection_count += 1
        if len(self.connections) < _MAX_LOGGED:
            self.connections.append(connection)
        return connection

    def _refusal(self, connection: Connection) -> str | None:
        if self._guard is None:
            connection.outcome = "denied"
        elif self.limit_hit is not None or self.connection_count > self.max_connections:
            self.limit_hit = self.limit_hit or "connections"
            connection.outcome = "limit"
        else:
            return None
        return connection.outcome

    async def _connect(self, connection: Connection) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        assert self._guard is not None
        try:
            addresses, port = await self._guard.checked(connection.host, connection.port)
        except BlockedAddressError:
            connection.outcome = "blocked_address"
            return None
        except ResolutionError as exc:
            connection.outcome = dns_code(exc)
            return None
        for address in addresses:
            try:
                async with asyncio.timeout(self._connect_seconds):
                    opened = await asyncio.open_connection(str(address), port, limit=_HEAD_LIMIT)
            except (OSError, TimeoutError):
                continue
            connection.outcome, connection.address = "connected", str(address)
            return opened
        connection.outcome = "connect_error"
        return None

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, connection: Connection, *, sent: bool
    ) -> None:
        # OSError too: half-closing a socket whose other end has gone (ENOTCONN) is that end's end, not a fault.
        with contextlib.suppress(OSError):
            while chunk := await source.read(_CHUNK):
                self.bytes += len(chunk)
                if sent:
                    connection.sent += len(chunk)
                else:
                    connection.received += len(chunk)
                if self.bytes > self.max_bytes:
                    self._stop("bytes")
                    return
                sink.write(chunk)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()

    def _stop(self, limit: str) -> None:
        """A page over its byte budget loses every connection at once, and gets no new ones."""
        self.limit_hit = self.limit_hit or limit
        for writer in list(self._writers):
            writer.transport.abort()


def _split_request_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    parts = line.split(b" ")
    if len(parts) != 3:
        return b"", b"", b""
    return parts[0], parts[1], parts[2]


def _target(target: bytes, tunnel: bool) -> tuple[str, int, str] | None:
    """(host, port, origin-form path) of a CONNECT authority or an absolute http:// URI; None otherwise."""
    try:
        text = target.decode("ascii")
        parts = urlsplit(f"//{text}" if tunnel else text)
        if not tunnel and parts.scheme != "http":
            return None
        host, port = parts.hostname, parts.port or (None if tunnel else 80)
    except (UnicodeDecodeError, ValueError):
        return None
    if not host or port is None:
        return None
    path = parts.path or "/"
    return host, port, f"{path}?{parts.query}" if parts.query else path


def _origin_request(method: bytes, path: str, header_block: bytes) -> bytes:
    """The request as an origin server expects it: origin-form target, no proxy headers, one request per
    connection (so every request's host is judged on a connection of its own), upgrades kept."""
    lines = [line for line in header_block.split(b"\r\n") if line]
    upgrade = any(line.split(b":", 1)[0].strip().lower() == b"upgrade" for line in lines)
    kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP]
    kept.append(b"Connection: Upgrade" if upgrade else b"Connection: close")
    return b"\r\n".join([method + b" " + path.encode("ascii") + b" HTTP/1.1", *kept]) + b"\r\n\r\n"


def _closing_response(head: bytes) -> bytes:
    """A response head that tells the browser not to reuse the connection (upgrades excepted): the next
    request, perhaps for another host, then comes on a connection of its own and is judged on its own."""
    status_line, _, header_block = head.partition(b"\r\n")
    if status_line.split(b" ")[1:2] == [b"101"]:
        return head
    lines = [line for line in header_block.split(b"\r\n") if line]
    kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP]
    return b"\r\n".join([status_line, *kept, b"Connection: close"]) + b"\r\n\r\n"


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    body = f"scanfleet proxy: {reason}\n".encode()
    writer.write(
        f"HTTP/1.1 {status} {'Forbidden' if status == 403 else 'Bad Gateway' if status == 502 else 'Bad Request'}\r\n"
        f"X-Scanfleet-Refused: {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()
