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

from scanfleet.urls import port_problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# How long the last name resolution took in this task: checks report DNS time apart from connecting.
resolve_seconds: contextvars.ContextVar[float] = contextvars.ContextVar("resolve_seconds", default=0.0)


class BlockedAddressError(Exception):
    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address


class ResolutionError(Exception):
    def __init__(self, host: str, reason: str, *, temporary: bool = False) -> None:
        super().__init__(f"cannot resolve {host}: {reason}")
        self.host = host
        self.temporary = temporary  # the resolver failed (try again later), not "no such name"


@dataclass(frozen=True)
class AddressPolicy:
    """Public unicast addresses only, plus networks explicitly allowed (e.g. 127.0.0.0/8 in development)."""

    allow: Sequence[IPNetwork] = ()

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allow):
            return True
        return address.is_global and not address.is_multicast


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = AutoBackend()

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            return [literal]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ResolutionError(host, exc.strerror or str(exc), temporary=exc.errno == socket.EAI_AGAIN) from exc
        return _unique(ipaddress.ip_address(info[4][0]) for info in infos)

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
        problem = port_problem(port)
        if problem is not None:
            raise problem
        started = time.perf_counter()
        addresses = await self.resolve(host, port)
        resolve_seconds.set(time.perf_counter() - started)
        # Every address must pass: a name that mixes public and private answers is refused outright.
        for address in addresses:
            if not self._policy.permits(address):
                raise BlockedAddressError(host, str(address))
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
