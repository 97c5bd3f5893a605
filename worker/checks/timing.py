"""Where a step's time went: DNS, connect, TLS, first byte, total."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from scanfleet.http.guard import resolve_seconds


@dataclass
class Timings:
    """Seconds; None where a phase does not apply (no TLS on a TCP step). An HTTP request on a kept-alive
    connection spends 0 on DNS, connect and TLS."""

    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    first_byte: float | None = None
    total: float = 0.0

    def as_ms(self) -> dict[str, float | None]:
        return {phase: None if value is None else round(value * 1000, 2) for phase, value in asdict(self).items()}


class HttpTrace:
    """httpcore's trace hook (request extension "trace"): the phases of every request of a step, redirect
    hops included, added up. The guard leaves DNS time in a context variable; it is part of connect_tcp."""

    def __init__(self) -> None:
        self.timings = Timings(dns=0.0, connect=0.0, tls=0.0, first_byte=0.0)
        self._started: dict[str, float] = {}
        self._request_sent = 0.0

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        name, _, stage = event.rpartition(".")
        now = time.perf_counter()
        if stage == "started":
            self._started[name] = now
            if name.endswith("send_request_headers"):
                self._request_sent = now
            return
        if stage != "complete":
            return
        duration = now - self._started.pop(name, now)
        timings = self.timings
        if name == "connection.connect_tcp":
            dns = resolve_seconds.get()
            timings.dns = (timings.dns or 0.0) + dns
            timings.connect = (timings.connect or 0.0) + duration - dns
        elif name == "connection.start_tls":
            timings.tls = (timings.tls or 0.0) + duration
        elif name.endswith("receive_response_headers"):
            timings.first_byte = (timings.first_byte or 0.0) + now - self._request_sent
