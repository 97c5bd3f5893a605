"""Reuse, dedup and idempotency of submissions; batch; filters; finished scans: ETag, soft delete, stats."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from scanfleet import ids
from scanfleet.config import Settings
from scanfleet.db import insights, orgs, partitions, results, scans
from scanfleet.model import DomainSeen, Evidence, Issue, Job, Outcome, Severity, Status
from scanfleet.scheduler import retention
from tests.conftest import Tenant, make_tenant


async def held_tenant(pool: asyncpg.Pool, max_queued: int = 50) -> Tenant:
    """No running slot: every accepted scan stays queued, out of any worker's reach."""
    tenant = await make_tenant(pool)
    await orgs.set_capacity(pool, tenant.org.id, "pro", 0, max_queued)
    return tenant


async def finished_scan(
    pool: asyncpg.Pool, tenant: Tenant, url: str, at: datetime | None = None, domains: tuple[DomainSeen, ...] = ()
) -> Job:
    scan = await scans.insert(pool, tenant.org.id, url, scan_id=ids.new_id(at=at) if at else None)
    evidence = [Evidence("cookie", Severity.LOW, f"cookie {n}", {"name": f"c{n}"}) for n in range(3)]
    evidence.append(Evidence("security_header", Severity.LOW, "CSP missing", {"header": "csp", "present": False}))
    issues = [Issue("csp_missing", Severity.MEDIUM, "No CSP", "why", (3,)),
              Issue("cookie_without_httponly", Severity.LOW, "HttpOnly", "why", (0, 1, 2))]  # fmt: skip
    outcome = Outcome(Status.SUCCEEDED, url, 200, evidence=evidence, issues=issues, domains=list(domains))
    claimed = await scans.claim(pool, scan.id, lease_seconds=60)
    assert claimed is not None and await results.record_outcome(pool, claimed, outcome)
    return scan


def unique_url() -> str:
    return f"http://127.0.0.1:9/{uuid.uuid4().hex}"


async def test_same_url_in_flight_is_that_scan_even_when_submitted_at_once(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant, url = await held_tenant(pool), unique_url()
    answers = await asyncio.gather(
        *(api.post("/v1/scans", json={"url": url}, headers=tenant.headers) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [202]
    assert len({a.json()["id"] for a in answers}) == 1
    assert {a.json()["reused"] for a in answers if a.status_code == 200} == {"in_flight"}
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", tenant.org.id) == 1


async def test_recent_scan_is_reused_unless_fresh_or_too_old(
    api: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    tenant = await held_tenant(pool)
    recent = await finished_scan(pool, tenant, unique_url())
    reused = await api.post("/v1/scans", json={"url": recent.url}, headers=tenant.headers)
    assert (reused.status_code, reused.json()["id"], reused.json()["reused"]) == (200, str(recent.id), "recent")
    fresh = await api.post("/v1/scans", json={"url": recent.url, "fresh": True}, headers=tenant.headers)
    assert fresh.status_code == 202 and fresh.json()["id"] != str(recent.id)

    too_old = datetime.now(UTC) - timedelta(seconds=settings.scan_reuse_seconds + 60)
    old = await finished_scan(pool, tenant, unique_url(), at=too_old)
    assert (await api.post("/v1/scans", json={"url": old.url}, headers=tenant.headers)).status_code == 202


async def test_idempotency_key_replays_the_first_answer(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = await held_tenant(pool, max_queued=1)
    headers = tenant.headers | {"Idempotency-Key": "order-42"}
    body = {"url": unique_url()}
    first = await api.post("/v1/scans", json=body, headers=headers)
    again = await api.post("/v1/scans", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", tenant.org.id) == 1

    other_body = await api.post("/v1/scans", json={"url": unique_url()}, headers=headers)
    assert other_body.status_code == 422 and other_body.json()["error"]["code"] == "idempotency_key_reused"

    # A refusal is not remembered: once there is room, the same key goes through.
    retry_headers = tenant.headers | {"Idempotency-Key": "order-43"}
    retry_body = {"url": unique_url()}
    assert (await api.post("/v1/scans", json=retry_body, headers=retry_headers)).status_code == 429
    await api.delete(f"/v1/scans/{first.json()['id']}", headers=tenant.headers)
    assert (await api.post("/v1/scans", json=retry_body, headers=retry_headers)).status_code == 202


async def test_batch_gives_each_url_its_own_outcome(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = await held_tenant(pool, max_queued=2)
    first, second, third = unique_url(), unique_url(), unique_url()
    response = await api.post(
        "/v1/scans/batch", json={"urls": [first, first, "ftp://nope/", second, third]}, headers=tenant.headers
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["outcome"] for item in items] == ["accepted", "reused", "invalid", "accepted", "rejected"]
    assert items[0]["scan"]["id"] == items[1]["scan"]["id"]
    assert items[2]["error"]["rule"] == "url_scheme"
    assert items[4]["error"]["code"] == "queue_full" and items[4]["scan"] is None
    too_many = await api.post("/v1/scans/batch", json={"urls": [first] * 101}, headers=tenant.headers)
    assert too_many.status_code == 422 and too_many.json()["error"]["fields"][0]["field"] == "urls"
    # JSON's \ud800 escape decodes to a lone surrogate, which no URL can hold.
    body = b'{"urls": ["https://shop.example/\\ud800"]}'
    odd = await api.post("/v1/scans/batch", content=body, headers=tenant.headers | {"Content-Type": "application/json"})
    assert odd.status_code == 200 and odd.json()["items"][0]["error"]["rule"] == "url_parse"
    assert odd.json()["items"][0]["url"] == "https://shop.example/\\ud800"


async def test_results_filter_and_finished_scans_answer_conditional_gets(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool)
    scan = await finished_scan(pool, tenant, unique_url())
    base = f"/v1/scans/{scan.id}"

    cookies = (await api.get(f"{base}/evidence", params={"kind": "cookie"}, headers=tenant.headers)).json()
    assert [row["kind"] for row in cookies["items"]] == ["cookie"] * 3
    medium = (await api.get(f"{base}/issues", params={"severity": "medium"}, headers=tenant.headers)).json()
    assert [issue["code"] for issue in medium["items"]] == ["csp_missing"]
    by_code = await api.get(f"{base}/issues", params={"code": "cookie_without_httponly"}, headers=tenant.headers)
    assert by_code.json()["items"][0]["evidence"] == [0, 1, 2]
    bad = await api.get(f"{base}/issues", params={"severity": "dire"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "severity"

    for path, params in ((base, {}), (f"{base}/evidence", {"kind": "cookie"})):
        first = await api.get(path, params=params, headers=tenant.headers)
        etag = first.headers["etag"]
        cached = await api.get(path, params=params, headers=tenant.headers | {"If-None-Match": etag})
        assert cached.status_code == 304 and cached.headers["etag"] == etag and not cached.content
    page_etags = {
        (await api.get(f"{base}/evidence", params=params, headers=tenant.headers)).headers["etag"]
        for params in ({"kind": "cookie"}, {"kind": "security_header"})
    }
    assert len(page_etags) == 2  # another page is another representation

    queued = await scans.insert(pool, tenant.org.id, unique_url())
    assert "etag" not in (await api.get(f"/v1/scans/{queued.id}", headers=tenant.headers)).headers


async def test_deleting_a_finished_scan_hides_it_at_once_and_upkeep_purges_it(
    api: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    tenant = await make_tenant(pool)
    scan = await finished_scan(pool, tenant, unique_url(), domains=(DomainSeen("hidden.example", tracker=True),))
    assert (await api.delete(f"/v1/scans/{scan.id}", headers=tenant.headers)).status_code == 204
    for path in (f"/v1/scans/{scan.id}", f"/v1/scans/{scan.id}/evidence"):
        assert (await api.get(path, headers=tenant.headers)).status_code == 404
    listed = (await api.get("/v1/scans", headers=tenant.headers)).json()["items"]
    assert str(scan.id) not in [s["id"] for s in listed]
    seen = (await api.get("/v1/domains/hidden.example/scans", headers=tenant.headers)).json()["items"]
    assert seen == []

    await retention.purge(pool, settings.model_copy(update={"purge_deleted_after_seconds": 0}))
    for table in ("evidence", "issues", "scan_domains"):
        left = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE scan_id = $1", scan.id)  # noqa: S608
        assert left == 0, table
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE id = $1", scan.id) == 0


async def test_scans_that_saw_a_domain_in_a_time_range(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant, other = await make_tenant(pool), await make_tenant(pool)
    now = datetime.now(UTC)
    hotjar = DomainSeen("hotjar.com", tracker=True, vendor="Hotjar")
    old = await finished_scan(pool, tenant, unique_url(), at=now - timedelta(days=10), domains=(hotjar,))
    newer = [await finished_scan(pool, tenant, unique_url(), domains=(hotjar, DomainSeen("cdn.net"))) for _ in range(3)]
    await finished_scan(pool, other, unique_url(), domains=(hotjar,))

    path = "/v1/domains/hotjar.com/scans"
    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(path, params=params, headers=tenant.headers)).json()
        pages += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert [item["scan_id"] for item in pages] == [str(s.id) for s in reversed(newer)] + [str(old.id)]
    assert pages[0]["tracker"] is True and pages[0]["vendor"] == "Hotjar"
    recent_only = await api.get(path, params={"from": str(now.date())}, headers=tenant.headers)
    assert len(recent_only.json()["items"]) == 3
    reversed_range = await api.get(path, params={"from": "2026-02-01", "to": "2026-01-01"}, headers=tenant.headers)
    assert reversed_range.status_code == 422


async def test_scans_by_domain_is_an_index_range_scan(pool: asyncpg.Pool) -> None:
    """The page query's plan on 50,000 rows of one day, ANALYZEd (PostgreSQL 18):

        Limit
          -> Index Scan Backward using scan_domains_20260303_pkey on scan_domains_20260303
               Index Cond: (org_id = $1 AND domain = $2 AND scan_created_at >= $3 AND scan_created_at < $4)

    Only the partitions of the asked range are read, each by its primary key, stopping at the page size:
    the cost follows the rows returned, not the rows stored. The scans of the page are then point lookups
    by (id, created_at), each pruned to one partition.
    """
    day = datetime(2026, 3, 3, tzinfo=UTC)
    org = uuid.uuid4()
    rows = [(day + timedelta(seconds=n), org, f"d{n % 500}.example", uuid.uuid4(), n % 2 == 0, None)
            for n in range(50_000)]  # fmt: skip
    async with pool.acquire() as conn:
        await partitions.ensure_day(conn, day.date())
        columns = ("scan_created_at", "org_id", "domain", "scan_id", "tracker", "vendor")
        await conn.copy_records_to_table("scan_domains", records=rows, columns=columns)
        await conn.execute("ANALYZE scan_domains")
        plan = json.loads(await conn.fetchval(
            f"EXPLAIN (FORMAT JSON) {insights.DOMAIN_PAGE}", org, "d7.example", day, day + timedelta(days=1), None,
            None, 100,
        ))  # fmt: skip
    nodes = _nodes(plan[0]["Plan"])
    reads = [n for n in nodes if "Relation Name" in n]
    assert [(n["Node Type"], n["Relation Name"]) for n in reads] == [("Index Scan", "scan_domains_20260303")]
    assert reads[0]["Index Name"] == "scan_domains_20260303_pkey" and reads[0]["Scan Direction"] == "Backward"
    assert nodes[0]["Node Type"] == "Limit"


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("Plans", []):
        found += _nodes(child)
    return found


async def test_daily_stats_count_finished_scans_and_issues(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await finished_scan(pool, tenant, unique_url(), at=yesterday)
    for _ in range(2):
        await finished_scan(pool, tenant, unique_url())
    await scans.insert(pool, tenant.org.id, unique_url())  # queued

    # What a release before the count shards wrote (or its workers write during a rolling deploy) counts too.
    await pool.execute(
        "INSERT INTO daily_scan_counts (org_id, day, status, scans) VALUES ($1, $2, 'succeeded', 3)",
        tenant.org.id, datetime.now(UTC).date(),
    )  # fmt: skip

    stats = (await api.get("/v1/stats", headers=tenant.headers)).json()
    by_day = {day["day"]: day for day in stats["days"]}
    today = by_day[str(datetime.now(UTC).date())]
    assert today["scans"] == {"succeeded": 5} and today["issues"] == {"medium": 2, "low": 2}
    assert by_day[str(yesterday.date())]["scans"] == {"succeeded": 1}
    assert stats["in_flight"] == {"queued": 1, "running": 0}
    too_long = await api.get("/v1/stats", params={"from": "2024-01-01", "to": "2026-01-01"}, headers=tenant.headers)
    assert too_long.status_code == 422 and too_long.json()["error"]["fields"][0]["rule"] == "range_too_long"
