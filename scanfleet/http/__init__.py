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

__all__ = [
    "AddressPolicy",
    "BlockedAddressError",
    "FetchError",
    "FetchLimits",
    "FetchResult",
    "GuardedBackend",
    "Hop",
    "ResolutionError",
    "SafeFetcher",
    "TlsInfo",
    "client_ssl_context",
    "guarded_client",
    "tls_info",
]
