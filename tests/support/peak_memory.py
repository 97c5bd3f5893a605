"""`python -m tests.support.peak_memory fetch|check URL MAX_BYTES`: one fetch of URL through the privacy
fetcher or a check step, in a process of its own, printing as JSON how far its resident memory peaked (VmHWM)
above where it stood just before (after a warm-up fetch of the same site: imports, a connection, buffers)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import sys
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from scanfleet.checks import HeartbeatState, parse_suite
from scanfleet.http import AddressPolicy, FetchError, FetchLimits, GuardedBackend, SafeFetcher, guarded_client
from scanfleet.worker.checks import CheckEnv, check_context, run_suite

LOOPBACK = AddressPolicy((ip_network("127.0.0.0/8"),))


def _status_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(f"{field}:")).split()[1])


def reset_peak() -> int:
    """The resident size now, with the peak brought down to it (Linux ≥ 4.0: "5" to clear_refs). Free heap goes
    back to the system first, so what the fetch allocates shows as growth rather than reuse."""
    ctypes.CDLL(None).malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def peak_kib() -> int:
    return _status_kib("VmHWM")


async def _no_heartbeat(_id: object) -> HeartbeatState | None:
    return None


async def fetch(url: str, max_bytes: int) -> dict[str, Any]:
    async with SafeFetcher(FetchLimits(total_seconds=60, read_seconds=30, max_bytes=max_bytes), LOOPBACK) as fetcher:
        await fetcher.fetch(urljoin(url, "/"))  # warm-up: imports, connection, buffers
        before = reset_peak()
        try:
            result = await fetcher.fetch(url)
        except FetchError as exc:
            return {"grown_kib": peak_kib() - before, "error": exc.code}
        return {"grown_kib": peak_kib() - before, "bytes": len(result.body), "truncated": result.truncated}


async def check(url: str, max_bytes: int) -> dict[str, Any]:
    async with guarded_client(LOOPBACK) as client:
        env = CheckEnv(client, GuardedBackend(LOOPBACK), check_context(), _no_heartbeat, max_body_bytes=max_bytes)
        await run_suite(parse_suite({"steps": [{"kind": "http", "url": urljoin(url, "/")}]}), env)
        before = reset_peak()
        result = await run_suite(parse_suite({"steps": [{"kind": "http", "url": url}]}), env)
        grown = peak_kib() - before
    [step] = [row.details for row in result.evidence if row.kind == "check_step"]
    response, error = step.get("response") or {}, step.get("error") or {}
    return {"grown_kib": grown, "bytes": response.get("bytes"), "truncated": response.get("truncated"),
            "error": error.get("code")}  # fmt: skip


if __name__ == "__main__":
    path, target, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run({"fetch": fetch, "check": check}[path](target, limit))))
