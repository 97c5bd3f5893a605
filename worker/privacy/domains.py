"""Host and registrable-domain (eTLD+1) helpers shared by the cookie and third-party collectors."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

# The bundled Public Suffix List snapshot only: a scan must never reach out to refresh the list,
# and cache_dir=None keeps workers from writing to disk.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def host_of(url: str) -> str | None:
    """Lower-case host of an absolute URL (IPv6 without brackets), or None if it has none or is malformed."""
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None


@lru_cache(maxsize=4096)  # a page names the same few hosts thousands of times
def registrable_domain(host: str) -> str:
    """eTLD+1 of `host`; an IP address, a bare public suffix or a single label stands for itself."""
    host = host.lower().strip("[]").rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    parts = _EXTRACT(host)
    # Assembled by hand: the attribute name for this changed across tldextract 5.x releases.
    return f"{parts.domain}.{parts.suffix}" if parts.domain and parts.suffix else host


def is_same_site(host_a: str, host_b: str) -> bool:
    return registrable_domain(host_a) == registrable_domain(host_b)
