"""The SSRF guard applies to every step kind, and to every redirect hop."""

from __future__ import annotations

import pytest

from scanfleet.http import AddressPolicy, GuardedBackend, guarded_client
from scanfleet.worker.checks import CheckEnv, check_context
from tests.integration.checks.conftest import Heartbeats
from tests.integration.checks.runs import run, steps
from tests.support.services import ApiService


@pytest.fixture
async def public_only() -> CheckEnv:
    """The production policy: public addresses only, nothing allowed on top."""
    policy = AddressPolicy()
    return CheckEnv(guarded_client(policy), GuardedBackend(policy), check_context(), Heartbeats())


async def test_loopback_is_refused_without_the_allow_list(public_only: CheckEnv, service: ApiService) -> None:
    closed = {"type": "tcp_connected", "invert": True}
    try:
        result = await run(
            public_only,
            {"kind": "http", "url": service.url("/items"), "continue_on_failure": True},
            {"kind": "tls", "host": "127.0.0.1", "port": service.port, "continue_on_failure": True},
            {"kind": "tcp", "host": "127.0.0.1", "port": service.port, "continue_on_failure": True},
            {"kind": "tcp", "host": "localhost", "port": service.port, "assertions": [closed]},
        )
    finally:
        await public_only.client.aclose()
    assert [step["error"]["code"] for step in steps(result)] == ["blocked_address"] * 4
    # Refused by the guard is not "closed": the inverted assertion has nothing to judge.
    assert result.verdict == "failed" and not steps(result)[3]["passed"]


async def test_a_redirect_to_a_private_address_is_refused(env: CheckEnv, service: ApiService) -> None:
    metadata = "http://169.254.169.254/latest/meta-data/"
    result = await run(env, {"kind": "http", "url": service.url(f"/redirect?to={metadata}")})
    [step] = steps(result)
    assert step["error"]["code"] == "blocked_address"
    assert step["redirects"] == [{"url": service.url(f"/redirect?to={metadata}"), "status": 302, "location": metadata}]
