"""The SSRF guard: resolve a host, refuse non-public addresses, connect to the address that was checked.

It sits in httpcore's network backend, so every connection httpx opens — first request and every
redirect hop — passes through it, and there is no gap between the check and the connect for DNS
rebinding to slip into.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import httpcore
from httpcore._backends.auto import AutoBackend

from scanfleet import urls
from scanfleet.addresses import AllowEntry, Endpoint, IPAddress, non_public
from scanfleet.http.resolve import ResolveMap

# How long the last name resolution took in this task: checks report DNS time apart from connecting.
resolve_seconds: contextvars.ContextVar[float] = contextvars.ContextVar("resolve_seconds", default=0.0)


class BlockedAddressError(Exception):
    def __init__(self, host: str, address: str, reason: str = "") -> None:
        named = address if host == address else f"{host} resolves to {address}, which"
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"{named} is not a public address{why}; to fetch it anyway, add it to SCANFLEET_FETCH_ALLOW_NETWORKS"
        )
        self.host = host
        self.address = address


class ResolutionError(Exception):
    def __init__(self, host: str, reason: str, *, temporary: bool = False) -> None:
        super().__init__(f"cannot resolve {host}: {reason}")
        self.host = host
        self.temporary = temporary  # the resolver failed (try again later), not "no such name"


@dataclass(frozen=True)
class AddressPolicy:
    """Public unicast addresses only, plus what is explicitly allowed: networks (e.g. 127.0.0.0/8 in
    development) and single endpoints (an address and a port, e.g. the demo site of `scanfleet up`)."""

    allow: Sequence[AllowEntry] = ()

    def refusal(self, address: IPAddress, port: int | None = None) -> str | None:
        """Why `address` (on `port`) may not be connected to, or None if it may."""
        # An IPv4-mapped address is how a dual-stack socket names that IPv4 address: allowed as it is.
        names = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            names.append(address.ipv4_mapped)
        for entry in self.allow:
            if isinstance(entry, Endpoint):
                if entry.port == port and entry.address in names:
                    return None
            elif any(name in entry for name in names):
                return None
        return non_public(address)

    def permits(self, address: IPAddress, port: int | None = None) -> bool:
        return self.refusal(address, port) is None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: AddressPolicy, resolve_map: ResolveMap | None = None) -> None:
        self._policy = policy
        self._map = resolve_map or ResolveMap()
        self._inner = AutoBackend()

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            return [literal]
        problem = urls.host_problem(host)
        if problem is not None:  # never handed to the resolver (a percent-encoded name, an overlong label)
            raise problem
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ResolutionError(host, exc.strerror or str(exc), temporary=exc.errno == socket.EAI_AGAIN) from exc
        return _unique(ipaddress.ip_address(info[4][0]) for info in infos)

    async def checked(self, host: str, port: int) -> tuple[list[IPAddress], int]:
        """The addresses (and port) to connect to for `host`:`port`, each one passed by the policy.

        A SCANFLEET_FETCH_RESOLVE entry replaces the lookup; its address is judged like any other. Callers
        connect to exactly what this returns, so there is no second lookup for DNS rebinding to change."""
        mapped = self._map.lookup(host, port)
        addresses, port = ([mapped[0]], mapped[1]) if mapped else (await self.resolve(host, port), port)
        # Every address must pass: a name that mixes public and private answers is refused outright.
        for address in addresses:
            reason = self._policy.refusal(address, port)
            if reason is not None:
                raise BlockedAddressError(host, str(address), reason)
        return addresses, port

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # A URL's port reaches here unchecked from redirects and substituted values; the socket would raise
        # OverflowError, which no caller expects of a target.
        problem = urls.port_problem(port)
        if problem is not None:
            raise problem
        started = time.perf_counter()
        addresses, port = await self.checked(host, port)
        resolve_seconds.set(time.perf_counter() - started)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError(path, "unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(addresses))
