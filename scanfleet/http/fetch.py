"""Fetch a user-given URL: every redirect hop recorded, every connection guarded, every limit enforced."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict, cast

import httpcore
import httpx

from scanfleet import urls
from scanfleet.http.body import ACCEPT_ENCODING, read_body
from scanfleet.http.failures import TARGET_ERRORS, classify
from scanfleet.http.guard import AddressPolicy, GuardedBackend
from scanfleet.http.resolve import ResolveMap

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchLimits:
    total_seconds: float = 30.0
    connect_seconds: float = 5.0
    read_seconds: float = 10.0
    max_redirects: int = 10
    max_bytes: int = 5 * 1024 * 1024  # of the body, and of each layer of its encoding: a gzip bomb stops here
    user_agent: str = "scanfleet"


@dataclass(frozen=True)
class TlsInfo:
    """The connection's TLS session and the server certificate it verified."""

    protocol: str | None  # e.g. "TLSv1.3"
    cipher: str | None
    subject: dict[str, str]  # e.g. {"commonName": "example.com"}
    issuer: dict[str, str]  # e.g. {"organizationName": "Let's Encrypt", "commonName": "R11"}
    subject_alt_names: list[str]
    not_before: datetime | None
    not_after: datetime | None


@dataclass(frozen=True)
class Hop:
    """One response in the chain, redirects included."""

    url: str
    status: int
    headers: httpx.Headers
    address: str | None  # the IP the guard checked and connected to
    elapsed_seconds: float
    tls: TlsInfo | None = None  # for https hops

    @property
    def set_cookies(self) -> list[str]:
        return self.headers.get_list("set-cookie")


@dataclass(frozen=True)
class FetchResult:
    hops: list[Hop]
    body: bytes
    truncated: bool = False
    encoding: str | None = None

    @property
    def final(self) -> Hop:
        return self.hops[-1]

    @property
    def content_type(self) -> str:
        header: str = self.final.headers.get("content-type", "")
        return header.split(";")[0].strip().lower()

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml") or (
            not self.content_type and self.body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
        )

    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")


@dataclass
class FetchError(Exception):
    """A target that could not be fetched; `code` is a stable, machine-readable class."""

    code: str
    message: str
    hops: list[Hop] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(
        self, policy: AddressPolicy, ssl_context: ssl.SSLContext | None = None, resolve_map: ResolveMap | None = None
    ) -> None:
        # trust_env=False: an HTTP(S)_PROXY from the environment would route around the guard.
        super().__init__(trust_env=False)
        # httpx has no parameter for a network backend; this pool is the one it builds, plus the guard.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or client_ssl_context(),
            network_backend=GuardedBackend(policy, resolve_map),
            max_connections=100,
        )


class SafeFetcher:
    """One per process; reuses connections across fetches. Use as an async context manager."""

    def __init__(
        self,
        limits: FetchLimits,
        policy: AddressPolicy,
        ssl_context: ssl.SSLContext | None = None,
        resolve_map: ResolveMap | None = None,
    ) -> None:
        self.limits = limits
        # Redirects are followed by hand, so each hop is recorded and re-checked.
        self._client = guarded_client(
            policy,
            ssl_context,
            httpx.Timeout(limits.read_seconds, connect=limits.connect_seconds),
            headers={"user-agent": limits.user_agent, "accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
            resolve_map=resolve_map,
        )

    async def __aenter__(self) -> SafeFetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> FetchResult:
        hops: list[Hop] = []
        try:
            async with asyncio.timeout(self.limits.total_seconds):
                return await self._follow(url, hops)
        except FetchError as exc:
            exc.hops = hops
            raise
        except TimeoutError:
            raise FetchError("timeout", f"no answer within {self.limits.total_seconds:g}s", hops) from None
        except TARGET_ERRORS as exc:
            failure = classify(exc, self.limits.read_seconds)
            where = f" ({_url_of(exc, url)})" if isinstance(exc, httpx.RequestError) else ""
            raise FetchError(failure.code, failure.message + where, hops) from None

    async def _follow(self, url: str, hops: list[Hop]) -> FetchResult:
        request = self._client.build_request("GET", url)
        while True:
            problem = urls.hop_problem(request.url)
            if problem is not None:
                raise FetchError("invalid_url", f"{request.url}: {problem.message}")
            started = time.perf_counter()
            response = await self._client.send(request, stream=True)
            try:
                hop = Hop(
                    url=str(request.url),
                    status=response.status_code,
                    headers=response.headers,
                    address=_peer_address(response),
                    elapsed_seconds=time.perf_counter() - started,
                    tls=_tls_of(response),
                )
                hops.append(hop)
                location = response.headers.get("location")
                if response.status_code in _REDIRECT_STATUSES and location:
                    if len(hops) > self.limits.max_redirects:
                        raise FetchError("too_many_redirects", f"more than {self.limits.max_redirects} redirects")
                    request = self._client.build_request("GET", request.url.join(location))
                    continue
                body, truncated = await read_body(response, self.limits.max_bytes)
                return FetchResult(hops=hops, body=body, truncated=truncated, encoding=response.charset_encoding)
            finally:
                await response.aclose()


def client_ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The system's CAs, plus those in `ca_file` (e.g. a corporate CA, or a test CA)."""
    context = httpx.create_ssl_context(trust_env=False)
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def guarded_client(
    policy: AddressPolicy,
    ssl_context: ssl.SSLContext | None = None,
    timeout: httpx.Timeout | None = None,
    headers: dict[str, str] | None = None,
    resolve_map: ResolveMap | None = None,
) -> httpx.AsyncClient:
    """An httpx client for any request to user-given URLs: every connection passes the SSRF guard, and no
    proxy from the environment routes around it. Redirects are off unless a request asks for them."""
    return httpx.AsyncClient(
        transport=_GuardedTransport(policy, ssl_context, resolve_map),
        timeout=timeout or httpx.Timeout(10.0),
        headers={"accept-encoding": ACCEPT_ENCODING, **(headers or {})},  # what read_body can decode
        follow_redirects=False,
        trust_env=False,
        event_hooks={"response": [_refuse_unparseable_location]},
    )


async def _refuse_unparseable_location(response: httpx.Response) -> None:
    """httpx works out a redirect's next request as soon as the answer arrives, followed or not, and calls a
    Location it cannot parse a protocol error, which retries take for a connection cut mid-answer. It is the
    same answer every time: an invalid URL."""
    if not response.has_redirect_location:
        return
    location = response.headers["location"]
    try:
        response.request.url.join(location)
    except httpx.InvalidURL as exc:
        raise urls.InvalidUrl("url_parse", f"the redirect's Location {location!r} is not a valid URL: {exc}") from None


def _peer_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    peer = stream.get_extra_info("server_addr")
    return str(peer[0]) if peer else None


def _tls_of(response: httpx.Response) -> TlsInfo | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return tls_info(ssl_object) if ssl_object is not None else None


class _PeerCert(TypedDict, total=False):
    """The keys of getpeercert()'s dict read here, each with its own type (typeshed gives all values one union)."""

    subject: tuple[tuple[tuple[str, str], ...], ...]
    issuer: tuple[tuple[tuple[str, str], ...], ...]
    subjectAltName: tuple[tuple[str, str], ...]
    notBefore: str
    notAfter: str


def tls_info(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> TlsInfo:
    """The session and the verified server certificate of a TLS connection."""
    cert = cast(_PeerCert, ssl_object.getpeercert() or {})
    cipher = ssl_object.cipher()
    return TlsInfo(
        protocol=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        subject=_name(cert.get("subject", ())),
        issuer=_name(cert.get("issuer", ())),
        subject_alt_names=[value for kind, value in cert.get("subjectAltName", ()) if kind in ("DNS", "IP Address")],
        not_before=_cert_time(cert.get("notBefore")),
        not_after=_cert_time(cert.get("notAfter")),
    )


def _name(rdns: Any) -> dict[str, str]:
    # getpeercert() gives ((("commonName", "x"),), (("organizationName", "y"),)): flatten it.
    return {key: value for rdn in rdns for key, value in rdn}


def _cert_time(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(value), UTC) if value else None


def _url_of(exc: httpx.HTTPError, fallback: str) -> str:
    try:
        return str(exc.request.url)
    except RuntimeError:
        return fallback
