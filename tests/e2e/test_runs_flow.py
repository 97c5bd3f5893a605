"""Test runs end to end: a suite over HTTP → the gate → a worker runs its checks → verdict and results."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from arq import Worker

from scanfleet.db import scans
from scanfleet.embedded import free_port
from tests.conftest import Tenant
from tests.support.site import FixtureSite, Page, eventually

STATUS = Page(200, [("Content-Type", "application/json"), ("X-Api-Version", "2.4")], b'{"ok": true, "items": [1, 2]}')


async def run(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant, suite: dict[str, Any]) -> dict[str, Any]:
    accepted = await api.post("/v1/runs", json=suite, headers=tenant.headers)
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["id"]
    await eventually(lambda: scans.is_final(pool, uuid.UUID(run_id)))
    run: dict[str, Any] = (await api.get(f"/v1/runs/{run_id}", headers=tenant.headers)).json()
    return run


async def rows(api: httpx.AsyncClient, tenant: Tenant, run_id: str, kind: str) -> list[dict[str, Any]]:
    page = await api.get(f"/v1/runs/{run_id}/results", params={"kind": kind, "limit": 500}, headers=tenant.headers)
    return [row["details"] for row in page.json()["items"]]


async def test_a_passing_suite_records_each_step_and_assertion(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, site: FixtureSite
) -> None:
    url = site.add(f"/status-{uuid.uuid4().hex[:6]}.json", STATUS)
    suite = {
        "name": "status page",
        "steps": [
            {"kind": "http", "name": "status", "url": url, "assertions": [
                {"type": "status", "operator": "equals", "value": 200},
                {"type": "json", "path": "$.items", "operator": "length", "value": 2},
                {"type": "header", "name": "X-Api-Version", "operator": "regex", "value": "^2\\."},
            ]},
            {"kind": "tcp", "name": "nothing listens", "host": "127.0.0.1", "port": free_port(),
             "assertions": [{"type": "tcp_connected", "invert": True}]},
        ],
    }  # fmt: skip
    done = await run(api, pool, tenant, suite)
    assert (done["status"], done["verdict"], done["name"], done["steps"]) == ("succeeded", "passed", "status page", 2)

    steps = await rows(api, tenant, done["id"], "check_step")
    assert [(s["name"], s["passed"]) for s in steps] == [("status", True), ("nothing listens", True)]
    assert steps[0]["response"]["status"] == 200 and steps[0]["timings"]["total"] >= 0
    assertions = await rows(api, tenant, done["id"], "check_assertion")
    assert len(assertions) == 4 and all(a["passed"] for a in assertions)


async def test_a_failing_assertion_fails_the_run_with_the_actual_value(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, site: FixtureSite
) -> None:
    url = site.add(f"/status-{uuid.uuid4().hex[:6]}.json", STATUS)
    expect_false = {"type": "json", "path": "$.ok", "operator": "==", "value": False}
    suite = {"steps": [{"kind": "http", "url": url, "assertions": [expect_false]}]}
    done = await run(api, pool, tenant, suite)
    assert (done["status"], done["verdict"]) == ("succeeded", "failed")
    [assertion] = await rows(api, tenant, done["id"], "check_assertion")
    assert assertion["passed"] is False and assertion["actual"] is True


async def test_an_invalid_suite_is_422_naming_step_field_and_rule_and_queues_nothing(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    malformed = {"steps": [
        {"kind": "http", "url": "http://127.0.0.1:9/",
         "assertions": [{"type": "json", "path": "$..[", "operator": "exists"}]},
        {"kind": "ftp", "host": "x"},
    ]}  # fmt: skip
    refused = await api.post("/v1/runs", json=malformed, headers=tenant.headers)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_suite"
    assert {(f["step"], f["field"], f["rule"]) for f in error["fields"]} == {
        (0, "steps.0.assertions.0.path", "jsonpath_invalid"), (1, "steps.1.kind", "unknown_step_kind"),
    }  # fmt: skip
    # Once every step is well formed, references between steps are checked.
    dangling = {"steps": [{"kind": "http", "url": "http://127.0.0.1:9/{{nowhere}}"}]}
    refused = await api.post("/v1/runs", json=dangling, headers=tenant.headers)
    assert [(f["field"], f["rule"]) for f in refused.json()["error"]["fields"]] == [
        ("steps.0.url", "variable_undefined")
    ]
    stored = await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1 AND kind = 'checks'", tenant.org.id)
    assert stored == 0


async def test_runs_and_scans_are_separate_resources(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, site: FixtureSite
) -> None:
    url = site.add(f"/status-{uuid.uuid4().hex[:6]}.json", STATUS)
    done = await run(api, pool, tenant, {"steps": [{"kind": "http", "url": url}]})
    assert (await api.get(f"/v1/scans/{done['id']}", headers=tenant.headers)).status_code == 404
    assert done["id"] not in [s["id"] for s in (await api.get("/v1/scans", headers=tenant.headers)).json()["items"]]
    assert done["id"] in [r["id"] for r in (await api.get("/v1/runs", headers=tenant.headers)).json()["items"]]


async def test_heartbeat_step_passes_after_a_ping_and_fails_without(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant
) -> None:
    beats = []
    for name in ("pinged", "silent"):
        created = await api.post(
            "/v1/heartbeats", json={"name": name, "period_seconds": 60, "grace_seconds": 0}, headers=tenant.headers
        )
        beats.append(created.json())
    assert (await api.post(f"/v1/heartbeats/{beats[0]['token']}")).status_code == 200

    verdicts = [
        (await run(api, pool, tenant, {"steps": [{"kind": "heartbeat", "heartbeat_id": beat["id"]}]}))["verdict"]
        for beat in beats
    ]
    assert verdicts == ["passed", "failed"]


@pytest.mark.timeout(60)  # a backtracking engine would spin on this run for longer than the universe has left
async def test_a_pathological_regex_runs_in_linear_time(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, site: FixtureSite
) -> None:
    almost = "a" * 50_000 + "!"  # (a+)+$ fails here only after trying every way to split the a's
    page = Page(200, [("Content-Type", "text/plain"), ("X-Pad", almost[-8000:])], almost.encode())
    url = site.add(f"/redos-{uuid.uuid4().hex[:6]}", page)
    suite = {"steps": [{
        "kind": "http", "url": url,
        "assertions": [
            {"type": "body", "operator": "regex", "value": "(a+)+$", "invert": True},
            {"type": "header", "name": "X-Pad", "operator": "regex", "value": "(a+)+$", "invert": True},
        ],
        "extract": [{"name": "tail", "source": "regex", "pattern": "(a+)+$"}],
    }]}  # fmt: skip
    started = time.monotonic()
    done = await run(api, pool, tenant, suite)
    assert done["status"] == "succeeded" and time.monotonic() - started < 10
    assert [a["passed"] for a in await rows(api, tenant, done["id"], "check_assertion")] == [True, True]
    [extracted] = await rows(api, tenant, done["id"], "check_extract")
    assert extracted["value"] is None  # no match, found without backtracking


async def test_a_regex_re2_cannot_run_is_422_naming_the_field_and_rule(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    suite = {"steps": [{
        "kind": "http", "url": "http://127.0.0.1:9/",
        "assertions": [{"type": "body", "operator": "regex", "value": r"(\w+) \1"}],  # a backreference
        "extract": [{"name": "price", "source": "regex", "pattern": r"(?<=\$)\d+"}],  # lookbehind
    }]}  # fmt: skip
    refused = await api.post("/v1/runs", json=suite, headers=tenant.headers)
    assert refused.status_code == 422
    fields = refused.json()["error"]["fields"]
    assert [(f["field"], f["rule"]) for f in fields] == [
        ("steps.0.assertions.0.value", "regex_invalid"), ("steps.0.extract.0.pattern", "regex_invalid"),
    ]  # fmt: skip
    assert all("RE2 syntax" in f["message"] for f in fields)
    assert not await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", tenant.org.id)


async def test_what_a_target_returns_is_stored_even_with_nul_characters(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, site: FixtureSite
) -> None:
    document = b'{"name": "a\\u0000b", "lone": "\\ud800", "k\\u0000": [1, "\\u0000"]}'
    json_url = site.add(
        f"/nul-{uuid.uuid4().hex[:6]}.json", Page(200, [("Content-Type", "application/json")], document)
    )
    binary_url = site.add(
        f"/bin-{uuid.uuid4().hex[:6]}", Page(200, [("Content-Type", "text/plain")], bytes(range(256)))
    )
    suite = {"steps": [
        {"kind": "http", "url": json_url,
         "assertions": [{"type": "json", "path": "$.name", "operator": "contains", "value": "b"},
                        {"type": "json", "path": "$.lone", "operator": "exists"},
                        {"type": "json", "path": "$", "operator": "exists"}],
         "extract": [{"name": "name", "source": "json", "path": "$.name"},
                     {"name": "head", "source": "regex", "pattern": "^.{20}"}]},
        {"kind": "http", "url": binary_url, "assertions": [{"type": "body", "operator": "regex", "value": "^\\x00"}]},
    ]}  # fmt: skip
    done = await run(api, pool, tenant, suite)
    assert (done["status"], done["verdict"]) == ("succeeded", "passed"), done
    checked = await rows(api, tenant, done["id"], "check_assertion")
    assert [row["actual"] for row in checked[:2]] == ["a\ufffdb", "\ufffd"]
    assert checked[2]["actual"] == {"name": "a\ufffdb", "lone": "\ufffd", "k\ufffd": [1, "\ufffd"]}
    extracted = {row["name"]: row["value"] for row in await rows(api, tenant, done["id"], "check_extract")}
    assert extracted == {"name": "a\ufffdb", "head": document[:20].decode()}
    binary_step = (await rows(api, tenant, done["id"], "check_step"))[1]
    assert binary_step["response"]["body"].startswith("\ufffd\x01\x02")
