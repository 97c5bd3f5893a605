"""SCANFLEET_FETCH_RESOLVE on real sockets: scans and check steps connect where the mapping says, and the SSRF
guard still judges the mapped address."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
import trustme

from scanfleet.http import (
    AddressPolicy,
    FetchError,
    FetchLimits,
    GuardedBackend,
    SafeFetcher,
    guarded_client,
    parse_resolve,
)
from scanfleet.worker.checks import CheckEnv, check_context
from tests.integration.checks.conftest import Heartbeats
from tests.integration.checks.runs import run, steps
from tests.support.site import FixtureSite, Page, html

ONLY_127_0_0_1 = AddressPolicy((ip_network("127.0.0.1/32"),))


async def test_a_scan_fetch_connects_to_the_mapped_address_and_port(site: FixtureSite) -> None:
    site.add("/mapped", Page(302, [("Location", "http://other.example/landing")]))
    site.add("/landing", html("<p>landed</p>"))
    mapping = parse_resolve(f"*:80:127.0.0.1:{site.port}")
    async with SafeFetcher(FetchLimits(total_seconds=5), ONLY_127_0_0_1, resolve_map=mapping) as fetcher:
        result = await fetcher.fetch("http://shop.example/mapped")
    assert [(hop.url, hop.status, hop.address) for hop in result.hops] == [
        ("http://shop.example/mapped", 302, "127.0.0.1"),
        ("http://other.example/landing", 200, "127.0.0.1"),
    ]
    assert result.body == b"<p>landed</p>"


async def test_the_guard_judges_the_mapped_address(site: FixtureSite) -> None:
    # internal.example points at 127.0.0.2, outside the allowed 127.0.0.1/32: refused before any connect.
    mapping = parse_resolve(f"internal.example:80:127.0.0.2:{site.port},*:80:127.0.0.1:{site.port}")
    site.add("/to-internal", Page(302, [("Location", "http://internal.example/")]))
    async with SafeFetcher(FetchLimits(total_seconds=5), ONLY_127_0_0_1, resolve_map=mapping) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch("http://shop.example/to-internal")
    assert caught.value.code == "blocked_address"
    assert "internal.example resolves to 127.0.0.2" in caught.value.message
    assert [hop.url for hop in caught.value.hops] == ["http://shop.example/to-internal"]


async def test_check_steps_use_the_mapping_for_http_tls_and_tcp(
    site: FixtureSite, tls_site: FixtureSite, ca: trustme.CA
) -> None:
    mapping = parse_resolve(
        f"api.example:80:127.0.0.1:{site.port},secure.example:443:127.0.0.1:{tls_site.port},"
        f"db.example:5432:127.0.0.1:{site.port},db.example:5433:127.0.0.2:{site.port}"
    )
    site.add("/health", html("ok"))
    tls_context = check_context()
    ca.configure_trust(tls_context)
    env = CheckEnv(
        guarded_client(ONLY_127_0_0_1, resolve_map=mapping), GuardedBackend(ONLY_127_0_0_1, mapping),
        tls_context, Heartbeats(),
    )  # fmt: skip
    try:
        result = await run(
            env,
            {"kind": "http", "url": "http://api.example/health", "continue_on_failure": True,
             "assertions": [{"type": "status", "operator": "equals", "value": 200}]},
            {"kind": "tls", "host": "secure.example", "port": 443, "continue_on_failure": True,
             "assertions": [{"type": "cert_hostname", "hostname": "localhost"}]},
            {"kind": "tcp", "host": "db.example", "port": 5432, "continue_on_failure": True},
            {"kind": "tcp", "host": "db.example", "port": 5433},  # mapped outside the allowed network
        )  # fmt: skip
    finally:
        await env.client.aclose()
    assert [(step["passed"], (step.get("error") or {}).get("code")) for step in steps(result)] == [
        (True, None),
        (True, None),
        (True, None),
        (False, "blocked_address"),
    ]
