"""Outbound HTTP to addresses that strangers give us: SSRF-guarded, bounded in time and size."""

from scanfleet.http.fetch import FetchError, FetchLimits, FetchResult, Hop, SafeFetcher, TlsInfo
from scanfleet.http.guard import AddressPolicy, BlockedAddressError

__all__ = [
    "AddressPolicy",
    "BlockedAddressError",
    "FetchError",
    "FetchLimits",
    "FetchResult",
    "Hop",
    "SafeFetcher",
    "TlsInfo",
]
