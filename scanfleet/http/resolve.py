"""Fixed name-to-address mappings, as curl's --resolve and --connect-to give them (SCANFLEET_FETCH_RESOLVE).

An entry `HOST:PORT:ADDRESS` sends connections for HOST on PORT to ADDRESS; `HOST:PORT:ADDRESS:TARGETPORT`
changes the port too. `*` stands for any host or any port. The mapped address is still judged by the SSRF
guard: a mapping chooses where a name goes, never what may be reached.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ENTRY = re.compile(
    r"(?P<host>\*|\[[0-9A-Fa-f:.]+\]|[^:\[\]\s*]+)"
    r":(?P<port>\*|\d{1,5})"
    r":(?P<address>\[[0-9A-Fa-f:.]+\]|[0-9.]+)"
    r"(?::(?P<target>\d{1,5}))?"
)
FORMAT = "HOST:PORT:ADDRESS or HOST:PORT:ADDRESS:TARGETPORT (ADDRESS an IP, IPv6 in brackets; HOST, PORT may be *)"


@dataclass(frozen=True)
class ResolveRule:
    host: str | None  # lower-case, without brackets; None for any host
    port: int | None  # None for any port
    address: IPAddress
    target_port: int | None = None  # None: the port asked for

    def matches(self, host: str, port: int) -> bool:
        return (self.host is None or self.host == host) and (self.port is None or self.port == port)


@dataclass(frozen=True)
class ResolveMap:
    rules: tuple[ResolveRule, ...] = ()

    def lookup(self, host: str, port: int) -> tuple[IPAddress, int] | None:
        """Where the first matching entry sends `host`:`port`, or None to resolve it as usual."""
        host = _normal_host(host)
        for rule in self.rules:
            if rule.matches(host, port):
                return rule.address, rule.target_port or port
        return None

    def __bool__(self) -> bool:
        return bool(self.rules)


def parse_resolve(text: str) -> ResolveMap:
    """Comma-separated entries; raises ValueError naming the first entry that is not one."""
    return ResolveMap(tuple(parse_rule(entry.strip()) for entry in text.split(",") if entry.strip()))


def parse_rule(entry: str) -> ResolveRule:
    match = _ENTRY.fullmatch(entry)
    if match is None:
        raise ValueError(f"{entry!r} is not {FORMAT}")
    try:
        address = ipaddress.ip_address(match["address"].strip("[]"))
    except ValueError:
        raise ValueError(f"{entry!r}: {match['address']!r} is not an IP address") from None
    port = None if match["port"] == "*" else _port(entry, match["port"])
    target = _port(entry, match["target"]) if match["target"] else None
    host = None if match["host"] == "*" else _normal_host(match["host"])
    return ResolveRule(host, port, address, target)


def _port(entry: str, text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{entry!r}: port {port} is not between 1 and 65535")
    return port


def _normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()
