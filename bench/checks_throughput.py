"""Checks per second of run_suite on one process, side by side with the bare httpx requests of the same suite.

    python -m bench.checks_throughput [--checks 200] [--rounds 6]

The suite has three steps against tests.support.services.ApiService (plain HTTP on 127.0.0.1, served by
threads of this same process):

  1. POST /login with JSON credentials from the suite's variables; status assertion; extract the token (secret)
  2. GET /me with "Authorization: Bearer {{token}}"; status and two JSONPath assertions
  3. GET /items; status, response-time and five JSONPath assertions

"run_suite" is worker.checks.run_suite on the parsed suite: templating, tracing, assertions, extraction,
evidence rows and redaction included. "bare httpx" sends the same three requests through the same guarded
client (same transport, pool and timeouts), reads the bodies and parses the token out of the login answer:
no assertions, no evidence. Each round runs --checks checks one after another; rounds alternate between
the two (after an untimed warm-up of each), so drift in CPU speed, the GC or the server's threads hits
both alike. The overhead is what run_suite adds per check; parse_suite, done once per job by the worker,
is timed apart.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from ipaddress import ip_network

import httpx

from scanfleet.checks import Suite, parse_suite
from scanfleet.http import AddressPolicy, GuardedBackend, guarded_client
from scanfleet.worker.checks import CheckEnv, check_context, run_suite
from tests.support.services import PASSWORD, USERNAME, ApiService

LOOPBACK = AddressPolicy((ip_network("127.0.0.0/8"),))


def suite_spec(service: ApiService) -> dict[str, object]:
    status_ok = {"type": "status", "value": 200}
    return {
        "name": "bench",
        "variables": {"username": USERNAME, "password": PASSWORD},
        "steps": [
            {
                "kind": "http",
                "method": "POST",
                "url": service.url("/login"),
                "body": {"type": "json", "value": {"username": "{{username}}", "password": "{{password}}"}},
                "assertions": [status_ok],
                "extract": [{"name": "token", "source": "json", "path": "$.token", "secret": True}],
            },
            {
                "kind": "http",
                "url": service.url("/me"),
                "auth": {"type": "bearer", "token": "{{token}}"},
                "assertions": [
                    status_ok,
                    {"type": "json", "path": "$.user.name", "operator": "==", "value": USERNAME},
                    {"type": "json", "path": "$.user.roles", "operator": "contains", "value": "admin"},
                ],
            },
            {
                "kind": "http",
                "url": service.url("/items"),
                "assertions": [
                    status_ok,
                    {"type": "response_time", "degraded_ms": 500, "failed_ms": 2000},
                    {"type": "json", "path": "$.count", "operator": "==", "value": 2},
                    {"type": "json", "path": "$.items", "operator": "length", "value": 2},
                    {"type": "json", "path": "$.items[*].name", "operator": "contains", "value": "beta"},
                    {"type": "json", "path": "$.items[0].price", "operator": "<", "value": 10},
                    {"type": "json", "path": "$.next", "operator": "is_null"},
                ],
            },
        ],
    }


async def bare_check(client: httpx.AsyncClient, service: ApiService) -> None:
    login = await client.post(service.url("/login"), json={"username": USERNAME, "password": PASSWORD})
    token = login.json()["token"]
    me = await client.get(service.url("/me"), headers={"Authorization": f"Bearer {token}"})
    items = await client.get(service.url("/items"))
    if not (login.status_code == me.status_code == items.status_code == 200):
        raise RuntimeError("the bare requests failed: the comparison would be meaningless")


async def suite_check(suite: Suite, env: CheckEnv) -> None:
    result = await run_suite(suite, env)
    if result.verdict != "passed":
        raise RuntimeError(f"the suite did not pass: {[row.title for row in result.evidence]}")


async def timed(count: int, check: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await check()
    return time.perf_counter() - started


async def main(checks: int, rounds: int) -> None:
    with ApiService() as service:
        spec = suite_spec(service)
        suite = parse_suite(spec)
        async with guarded_client(LOOPBACK, check_context()) as client:
            env = CheckEnv(client, GuardedBackend(LOOPBACK), check_context(), heartbeat=_no_heartbeats)
            modes: dict[str, Callable[[], Awaitable[None]]] = {
                "run_suite": lambda: suite_check(suite, env),
                "bare httpx": lambda: bare_check(client, service),
            }
            for check in modes.values():  # warm-up: connections, caches, imports
                await timed(max(checks // 10, 5), check)
            seconds: dict[str, list[float]] = {mode: [] for mode in modes}
            for _ in range(rounds):
                for mode, check in modes.items():
                    seconds[mode].append(await timed(checks, check))
        parse_ms = (await timed(checks, lambda: _parse(spec))) * 1000 / checks
    print_table(checks, seconds, parse_ms)


async def _parse(spec: dict[str, object]) -> None:
    parse_suite(spec)


async def _no_heartbeats(_heartbeat_id: object) -> None:
    return None


def print_table(checks: int, seconds: dict[str, list[float]], parse_ms: float) -> None:
    rounds = len(next(iter(seconds.values())))
    print(f"{checks} checks × {rounds} rounds per mode, alternating, one process (3 HTTP requests per check)\n")
    print(f"| {'mode':<11} | {'checks/s':>9} | {'ms/check (mean)':>15} | {'ms/check (best round)':>21} |")
    print(f"| {'-' * 11} | {'-' * 9}:| {'-' * 15}:| {'-' * 21}:|")
    mean_ms = {}
    for mode, times in seconds.items():
        mean_ms[mode] = statistics.fmean(times) * 1000 / checks
        best = min(times) * 1000 / checks
        print(f"| {mode:<11} | {1000 / mean_ms[mode]:>9.1f} | {mean_ms[mode]:>15.3f} | {best:>21.3f} |")
    suite_ms, bare_ms = mean_ms["run_suite"], mean_ms["bare httpx"]
    print(f"\nrun_suite / bare: {suite_ms / bare_ms:.2f}× the time; overhead {suite_ms - bare_ms:.3f} ms per check")
    print(f"parse_suite of the same suite (once per job): {parse_ms:.3f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=200, help="checks per round and mode")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per mode, alternating")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.checks, arguments.rounds))
