"""Outbound HTTP to addresses that strangers give us: SSRF-guarded, bounded in time and size."""

from scanfleet.http.fetch import (
    FetchError,
    FetchLimits,
    FetchResult,
    Hop,
    SafeFetcher,
    TlsInfo,
    client_ssl_context,
    guarded_client,
    tls_info,
)
from scanfleet.http.guard import AddressPolicy, BlockedAddressError, GuardedBackend, ResolutionError
from scanfleet.http.resolve import ResolveMap, ResolveRule, parse_resolve

__all__ = [
    "AddressPolicy",
    "BlockedAddressError",
    "FetchError",
    "FetchLimits",
    "FetchResult",
    "GuardedBackend",
    "Hop",
    "ResolutionError",
    "ResolveMap",
    "ResolveRule",
    "SafeFetcher",
    "TlsInfo",
    "client_ssl_context",
    "guarded_client",
    "parse_resolve",
    "tls_info",
]
