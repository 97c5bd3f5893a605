"""TLS, TCP and heartbeat steps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from scanfleet.checks import HeartbeatState
from scanfleet.worker.checks import CheckEnv
from tests.integration.checks.conftest import CERT_DAYS, Heartbeats
from tests.integration.checks.runs import assertions, run, steps
from tests.support.services import ApiService, closed_port


def tls(port: int, *checks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"kind": "tls", "host": "127.0.0.1", "port": port, "assertions": list(checks), **fields}


async def test_tls_certificate_assertions_passing_and_failing(env: CheckEnv, tls_service: ApiService) -> None:
    passing: list[dict[str, Any]] = [
        {"type": "cert_days_left", "operator": ">=", "value": CERT_DAYS - 1},
        {"type": "cert_days_left", "operator": "==", "value": CERT_DAYS},
        {"type": "cert_issuer", "operator": "contains", "value": "trustme"},
        {"type": "cert_issuer", "operator": "regex", "value": r"^trustme v\d"},
        {"type": "cert_hostname"},
        {"type": "cert_hostname", "hostname": "localhost"},
        {"type": "response_time", "failed_ms": 5000},
    ]
    failing: list[dict[str, Any]] = [
        {"type": "cert_days_left", "operator": ">=", "value": 30},
        {"type": "cert_issuer", "operator": "equals", "value": "DigiCert Inc"},
        {"type": "cert_hostname", "hostname": "api.example.com"},
    ]
    result = await run(env, tls(tls_service.port, *passing, continue_on_failure=True), tls(tls_service.port, *failing))
    assert [row["passed"] for row in assertions(result, 0)] == [True] * len(passing)
    assert [row["passed"] for row in assertions(result, 1)] == [False] * len(failing)
    first, second = steps(result)
    assert first["passed"] and not second["passed"] and second["error"] is None  # a mismatch still shows the cert
    certificate = second["certificate"]
    assert certificate["days_left"] == CERT_DAYS and certificate["subject_alt_names"] == ["127.0.0.1", "localhost"]
    assert certificate["issuer"]["organizationName"].startswith("trustme")
    timings = first["timings"]
    assert timings["tls"] > 0 and timings["connect"] > 0 and timings["first_byte"] is None
    assert assertions(result, 1)[0]["actual"] == CERT_DAYS


async def test_tls_inverted(env: CheckEnv, tls_service: ApiService) -> None:
    result = await run(
        env, tls(tls_service.port, {"type": "cert_hostname", "hostname": "evil.example", "invert": True})
    )
    assert result.verdict == "passed"


async def test_tls_against_a_plain_http_port_is_a_tls_error(env: CheckEnv, service: ApiService) -> None:
    result = await run(env, tls(service.port, {"type": "cert_days_left", "value": 1, "invert": True}))
    [step] = steps(result)
    assert result.verdict == "failed" and step["error"]["code"] == "tls_error" and "certificate" not in step
    assert not assertions(result)[0]["passed"]  # inverted, still no certificate to judge


async def test_tls_to_a_closed_port(env: CheckEnv) -> None:
    result = await run(env, tls(closed_port()))
    assert steps(result)[0]["error"]["code"] == "connect_error"


async def test_tcp_open_and_closed(env: CheckEnv, service: ApiService) -> None:
    port = closed_port()
    result = await run(
        env,
        {"kind": "tcp", "host": "127.0.0.1", "port": service.port},
        {"kind": "tcp", "host": "127.0.0.1", "port": port, "assertions": [{"type": "tcp_connected", "invert": True}]},
        {
            "kind": "tcp",
            "host": "127.0.0.1",
            "port": service.port,
            "assertions": [{"type": "tcp_connected", "invert": True}],
            "continue_on_failure": True,
        },
        {"kind": "tcp", "host": "127.0.0.1", "port": port},
    )
    assert [row["passed"] for row in steps(result)] == [True, True, False, False]
    opened, closed, _, unexpected_closed = steps(result)
    assert opened["error"] is None and opened["timings"]["connect"] > 0 and opened["timings"]["tls"] is None
    assert closed["error"]["code"] == "connect_error"  # recorded, and judged by the inverted assertion
    assert assertions(result, 1)[0]["actual"] is False and assertions(result, 2)[0]["actual"] is True
    assert unexpected_closed["error"]["code"] == "connect_error"
    assert result.verdict == "failed"


async def test_heartbeat_on_time_missed_never_and_unknown(env: CheckEnv, heartbeats: Heartbeats) -> None:
    now = datetime.now(UTC)
    on_time, missed, never, unknown = (uuid.uuid4() for _ in range(4))
    heartbeats[on_time] = HeartbeatState(now - timedelta(minutes=5), period_seconds=3600, grace_seconds=300)
    heartbeats[missed] = HeartbeatState(now - timedelta(hours=2), period_seconds=3600, grace_seconds=300)
    heartbeats[never] = HeartbeatState(None, period_seconds=3600, grace_seconds=300)

    def beat(heartbeat_id: uuid.UUID) -> dict[str, Any]:
        return {"kind": "heartbeat", "heartbeat_id": str(heartbeat_id), "continue_on_failure": True}

    result = await run(env, beat(on_time), beat(missed), beat(never), beat(unknown))
    assert [row["passed"] for row in steps(result)] == [True, False, False, False]
    first, late, _, missing = steps(result)
    assert first["heartbeat"]["period_seconds"] == 3600 and first["heartbeat"]["due_by"]
    assert late["error"] is None and 7199 < assertions(result, 1)[0]["actual"]["age_seconds"] < 7300
    assert "never pinged" in assertions(result, 2)[0]["message"]
    assert missing["error"]["code"] == "heartbeat_unknown"
    assert result.verdict == "failed"
