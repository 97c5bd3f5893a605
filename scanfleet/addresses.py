"""Which addresses are public: the project's own table of special-purpose ranges, and allow-list entries.

The table follows IANA's IPv4 and IPv6 Special-Purpose Address Registries (plus multicast, and for IPv6 the
address-space registry: only 2000::/3 is global unicast). The most specific range holding an address decides.
It is kept here rather than taken from `ipaddress.is_global`/`is_private`, whose tables differ between Python
releases (CVE-2024-4032) and which judge IPv6 forms that carry an IPv4 address without looking at that address.
An IPv6 address that embeds an IPv4 one (mapped, translated, IPv4-compatible, NAT64, 6to4) is refused when the
IPv4 address it carries is not public, by the same table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True)
class SpecialRange:
    network: IPNetwork
    name: str
    reachable: bool  # IANA's "Globally Reachable" (N/A counts as not, except where an embedded IPv4 decides)


def _ranges(*rows: tuple[str, str, bool]) -> tuple[SpecialRange, ...]:
    return tuple(SpecialRange(ip_network(network), name, reachable) for network, name, reachable in rows)


SPECIAL_RANGES: tuple[SpecialRange, ...] = _ranges(
    # IPv4 Special-Purpose Address Registry.
    ("0.0.0.0/8", "this network", False),
    ("10.0.0.0/8", "private-use", False),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)", False),
    ("127.0.0.0/8", "loopback", False),
    ("169.254.0.0/16", "link-local", False),
    ("172.16.0.0/12", "private-use", False),
    ("192.0.0.0/24", "IETF protocol assignments", False),
    ("192.0.0.9/32", "PCP anycast", True),
    ("192.0.0.10/32", "TURN anycast", True),
    ("192.0.2.0/24", "documentation (TEST-NET-1)", False),
    ("192.31.196.0/24", "AS112", True),
    ("192.52.193.0/24", "AMT", True),
    ("192.88.99.0/24", "6to4 relay anycast (deprecated)", False),
    ("192.168.0.0/16", "private-use", False),
    ("192.175.48.0/24", "AS112 direct delegation", True),
    ("198.18.0.0/15", "benchmarking", False),
    ("198.51.100.0/24", "documentation (TEST-NET-2)", False),
    ("203.0.113.0/24", "documentation (TEST-NET-3)", False),
    ("224.0.0.0/4", "multicast", False),
    ("240.0.0.0/4", "reserved", False),
    ("255.255.255.255/32", "limited broadcast", False),
    # IPv6: outside 2000::/3 nothing is global unicast (IPv6 Address Space registry).
    ("::/0", "not global unicast", False),
    ("2000::/3", "global unicast", True),
    # IPv6 Special-Purpose Address Registry, and the deprecated or reserved forms named for clearer errors.
    ("::/128", "unspecified", False),
    ("::1/128", "loopback", False),
    ("::/96", "IPv4-compatible (deprecated)", False),
    ("::ffff:0:0/96", "IPv4-mapped", False),
    ("::ffff:0:0:0/96", "IPv4-translated", False),
    ("64:ff9b::/96", "NAT64", True),
    ("64:ff9b:1::/48", "local-use NAT64", False),
    ("100::/64", "discard-only", False),
    ("100:0:0:1::/64", "dummy prefix", False),
    ("2001::/23", "IETF protocol assignments", False),
    ("2001::/32", "Teredo", False),
    ("2001:1::1/128", "PCP anycast", True),
    ("2001:1::2/128", "TURN anycast", True),
    ("2001:1::3/128", "DNS-SD SRP anycast", True),
    ("2001:2::/48", "benchmarking", False),
    ("2001:3::/32", "AMT", True),
    ("2001:4:112::/48", "AS112", True),
    ("2001:10::/28", "ORCHID (deprecated)", False),
    ("2001:20::/28", "ORCHIDv2", True),
    ("2001:30::/28", "drone remote ID", True),
    ("2001:db8::/32", "documentation", False),
    ("2002::/16", "6to4", True),
    ("2620:4f:8000::/48", "AS112 direct delegation", True),
    ("3fff::/20", "documentation", False),
    ("5f00::/16", "segment routing (SRv6)", False),
    ("fc00::/7", "unique-local", False),
    ("fe80::/10", "link-local", False),
    ("fec0::/10", "site-local (deprecated)", False),
    ("ff00::/8", "multicast", False),
)


def _low32(address: IPv6Address) -> IPv4Address:
    return IPv4Address(int(address) & 0xFFFFFFFF)


def _sixtofour(address: IPv6Address) -> IPv4Address:
    return IPv4Address((int(address) >> 80) & 0xFFFFFFFF)


# IPv6 forms that carry an IPv4 address, and where it sits. (Teredo and local-use NAT64 are refused whole.)
_EMBEDDINGS: tuple[tuple[IPv6Network, str, Callable[[IPv6Address], IPv4Address]], ...] = (
    (IPv6Network("::ffff:0:0/96"), "IPv4-mapped", _low32),
    (IPv6Network("::ffff:0:0:0/96"), "IPv4-translated", _low32),
    (IPv6Network("::/96"), "IPv4-compatible", _low32),
    (IPv6Network("64:ff9b::/96"), "NAT64", _low32),
    (IPv6Network("2002::/16"), "6to4", _sixtofour),
)


def embedded_ipv4(address: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The form and the IPv4 address an IPv6 address carries, if it is one of the embedding forms."""
    for network, form, extract in _EMBEDDINGS:
        if address in network and not (form == "IPv4-compatible" and int(address) <= 1):  # :: and ::1 are not
            return form, extract(address)
    return None


def _most_specific(address: IPAddress) -> SpecialRange | None:
    holding = [row for row in SPECIAL_RANGES if address in row.network]
    return max(holding, key=lambda row: row.network.prefixlen, default=None)


def non_public(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (the range that makes it so), or None if it is one."""
    if isinstance(address, IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            form, ipv4 = embedded
            reason = non_public(ipv4)
            if reason is not None:
                return f"{form} form of {ipv4}, {reason}"
            if form == "IPv4-mapped":
                return None  # how a dual-stack socket names an IPv4 address: that address alone decides
    special = _most_specific(address)
    return None if special is None or special.reachable else special.name


@dataclass(frozen=True)
class Endpoint:
    """One address and port allowed although not public (e.g. the demo site of `scanfleet up`)."""

    address: IPAddress
    port: int

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{host}:{self.port}"


AllowEntry = IPNetwork | Endpoint


def allow_entry(text: str) -> AllowEntry:
    """`10.0.0.0/8`, `fc00::/7`, `127.0.0.1` (a network), or `127.0.0.1:8001`, `[::1]:8001` (one endpoint)."""
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (host.startswith("[") or "." in host):
        number = int(port)
        if not 0 < number < 65536:
            raise ValueError(f"{text!r}: the port must be 1-65535")
        return Endpoint(ipaddress.ip_address(host.removeprefix("[").removesuffix("]")), number)
    return ip_network(text)
