"""Target failures as results: every way a target can fail a request gets a stable code, and none raises."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import h11
import httpcore
import httpx

from scanfleet.http.body import TooManyEncodingsError
from scanfleet.http.guard import BlockedAddressError, ResolutionError
from scanfleet.urls import InvalidUrl


@dataclass(frozen=True)
class Failure:
    code: str  # timeout, connect_error, dns_error, blocked_address, tls_error, protocol_error, invalid_url, …
    message: str


# What a target (or a value it sent us, substituted into a request) can make a step raise. Anything else
# is our bug and propagates.
TARGET_ERRORS = (
    TimeoutError,
    OSError,  # ssl.SSLError and ConnectionRefusedError among them
    BlockedAddressError,
    ResolutionError,
    InvalidUrl,  # a redirect's Location, or a URL a value made, that breaks the URL rules
    TooManyEncodingsError,
    httpx.HTTPError,
    httpx.InvalidURL,
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    UnicodeEncodeError,  # a header value that is not ASCII
)


def classify(exc: BaseException, timeout_seconds: float) -> Failure:
    if isinstance(exc, TimeoutError | httpx.TimeoutException | httpcore.TimeoutException):
        return Failure("timeout", f"no answer within {timeout_seconds:g} s ({type(exc).__name__})")
    if isinstance(exc, BlockedAddressError):
        return Failure("blocked_address", str(exc))
    if isinstance(exc, ResolutionError):
        return Failure(dns_code(exc), str(exc))
    if isinstance(exc, TooManyEncodingsError):
        return Failure("too_many_encodings", str(exc))
    if caused_by(exc, ssl.SSLError):
        return Failure("tls_error", _text(exc))
    if isinstance(exc, httpx.ConnectError | httpcore.ConnectError | OSError):
        return Failure("connect_error", _text(exc))
    if isinstance(exc, InvalidUrl | httpx.InvalidURL | httpx.UnsupportedProtocol):
        return Failure("invalid_url", _text(exc))
    if isinstance(exc, httpx.TooManyRedirects):
        return Failure("too_many_redirects", _text(exc))
    if isinstance(exc, UnicodeEncodeError):
        return Failure("invalid_request", f"a header value is not ASCII: {exc}")
    if headers_too_large(exc):
        return Failure("headers_too_large", f"the response's header block is larger than h11 reads ({_text(exc)})")
    return Failure("protocol_error", _text(exc))


def headers_too_large(exc: BaseException) -> bool:
    """h11 gave up on a response whose header block outgrew its buffer (it hints 431): the same answer every
    time, unlike a connection cut mid-answer, which is also a protocol error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, h11.RemoteProtocolError) and seen.error_status_hint == 431:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def dns_code(exc: ResolutionError) -> str:
    return "dns_unavailable" if exc.temporary else "dns_error"


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, kind):
        seen = seen.__cause__ or seen.__context__
    return seen is not None


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
