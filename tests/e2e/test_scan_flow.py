"""Submit over HTTP → an arq worker runs the scan → evidence readable over HTTP, matching the fixture page."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
import trustme
from arq import Worker

from scanfleet.db import scans
from tests.conftest import Tenant
from tests.support.site import FixtureSite, Page, eventually, html

PAGE = """<!doctype html><html><head>
<title>Shop</title>
<script src="https://www.googletagmanager.com/gtag/js?id=G-TEST123"></script>
<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
<script src="/static/app.js"></script>
</head><body>
<img src="https://px.ads.example.net/pixel.gif?u=1" alt="">
<iframe src="https://www.youtube.com/embed/xyz"></iframe>
<a href="https://not-a-resource.example.org/">links are not loaded resources</a>
</body></html>"""


@pytest.fixture
def shop(site: FixtureSite) -> str:
    site.add(
        "/shop",
        html(
            PAGE,
            ("Set-Cookie", "session=abc123; Path=/; HttpOnly; SameSite=Lax"),
            ("Set-Cookie", "prefs=dark; Max-Age=31536000; Path=/"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ),
    )
    return site.add("/go-shop", Page(302, [("Location", "/shop"), ("Set-Cookie", "first_visit=1; Path=/")]))


async def finished(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant, scan_id: str) -> dict[str, Any]:
    # Waits on the database, then reads once over HTTP: polling the API would spend the key's rate limit.
    await eventually(lambda: scans.is_final(pool, uuid.UUID(scan_id)))
    scan: dict[str, Any] = (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).json()
    return scan


async def all_evidence(api: httpx.AsyncClient, tenant: Tenant, scan_id: str, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(f"/v1/scans/{scan_id}/evidence", headers=tenant.headers, params=params)).json()
        rows += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def test_scan_of_fixture_page_records_its_evidence(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, shop: str, site: FixtureSite
) -> None:
    response = await api.post("/v1/scans", json={"url": shop}, headers=tenant.headers)
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert response.headers["location"] == accepted["status_url"]

    scan = await finished(api, pool, tenant, accepted["id"])
    assert scan["status"] == "succeeded", scan
    assert scan["final_url"] == site.url("/shop")
    assert scan["http_status"] == 200
    assert scan["started_at"] and scan["finished_at"] and scan["duration_seconds"] >= 0

    # Paginated with a small page size, the cursor walks every row exactly once.
    evidence = await all_evidence(api, tenant, accepted["id"], limit=3)
    assert [row["seq"] for row in evidence] == list(range(len(evidence)))
    assert scan["summary"]["evidence"] == len(evidence)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in evidence:
        by_kind.setdefault(row["kind"], []).append(row["details"])

    assert [(hop["status"], hop["url"]) for hop in by_kind["redirect"]] == [
        (302, site.url("/go-shop")),
        (200, site.url("/shop")),
    ]
    cookies = {cookie["name"]: cookie for cookie in by_kind["cookie"]}
    assert set(cookies) == {"first_visit", "session", "prefs"}
    assert cookies["session"]["http_only"] is True and cookies["session"]["same_site"].lower() == "lax"
    assert cookies["prefs"]["max_age"] == 31536000 and cookies["prefs"]["http_only"] is False
    assert cookies["first_visit"]["set_by"] == site.url("/go-shop")

    headers = {row["header"].lower(): row for row in by_kind["security_header"]}
    assert headers["x-content-type-options"]["present"] is True
    assert headers["referrer-policy"]["value"] == "strict-origin-when-cross-origin"
    assert headers["content-security-policy"]["present"] is False

    hosts = {row["host"]: row for row in by_kind["third_party"]}
    assert set(hosts) == {"www.googletagmanager.com", "fonts.googleapis.com", "px.ads.example.net", "www.youtube.com"}
    assert hosts["www.googletagmanager.com"]["tags"] == ["script"]

    issues = (await api.get(f"/v1/scans/{accepted['id']}/issues", headers=tenant.headers)).json()["items"]
    codes = {issue["code"] for issue in issues}
    assert {"csp_missing", "third_party_scripts"} <= codes
    assert sum(scan["summary"]["issues"].values()) == len(issues)


@pytest.mark.parametrize(
    ("page", "error_code"),
    [
        (Page(200, [("Content-Type", "application/json")], b'{"ok": true}'), "not_html"),
        (Page(200, [("Content-Type", "text/html")], b"<html></html>", delay=8), "timeout"),
        (Page(500, [("Content-Type", "text/html")], b"<html>oops</html>"), "http_error"),
        (Page(302, [("Location", "http://169.254.169.254/latest/meta-data/")]), "blocked_address"),
    ],
    ids=["not-html", "timeout", "server-error", "redirect-to-metadata"],
)
async def test_failures_are_results_with_a_clear_error(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    worker: Worker,
    tenant: Tenant,
    site: FixtureSite,
    page: Page,
    error_code: str,
) -> None:
    url = site.add(f"/fail-{error_code}", page)
    accepted = (await api.post("/v1/scans", json={"url": url}, headers=tenant.headers)).json()
    scan = await finished(api, pool, tenant, accepted["id"])
    assert scan["status"] == "failed"
    assert scan["error"]["code"] == error_code
    assert scan["error"]["message"]


async def test_unreachable_target_fails_and_the_worker_keeps_going(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, shop: str
) -> None:
    from scanfleet.embedded import free_port

    dead = f"http://127.0.0.1:{free_port()}/"
    first = (await api.post("/v1/scans", json={"url": dead}, headers=tenant.headers)).json()
    second = (await api.post("/v1/scans", json={"url": shop}, headers=tenant.headers)).json()
    assert (await finished(api, pool, tenant, first["id"]))["error"]["code"] == "connect_error"
    assert (await finished(api, pool, tenant, second["id"]))["status"] == "succeeded"


NUL_PAGE = b"""<!doctype html><html><head><title>Caf\x00e</title>
<script src="https://cdn.tra\x00cker.example/t.js"></script></head><body>
<a href="/privacy\x00">Privacy\x00 policy</a>
<form action="http://forms.example/\x00" method="post"><input type="email" name="e\x00mail"></form>
<script>var id = "\x00\xff\xfe";</script></body></html>"""


async def test_a_target_with_nul_characters_is_scanned_and_stored(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, ca: trustme.CA
) -> None:
    # NULs in the page, and in its certificate's subject (which the TLS evidence records as the server sent it).
    with FixtureSite(ca, organization_name="Acme\x00Corp", organization_unit_name="Ops\x00") as target:
        url = target.add("/nul", Page(200, [("Content-Type", "text/html; charset=utf-8")], NUL_PAGE))
        accepted = await api.post("/v1/scans", json={"url": url, "fresh": True}, headers=tenant.headers)
        done = await finished(api, pool, tenant, accepted.json()["id"])
    assert (done["status"], done["error"]) == ("succeeded", None), done
    rows = await all_evidence(api, tenant, done["id"], 100)
    assert len(rows) == done["summary"]["evidence"]
    [certificate] = [row for row in rows if row["kind"] == "tls_certificate"]
    assert certificate["details"]["subject"]["organizationName"] == "Acme\ufffdCorp"
    stored = json.dumps(rows, ensure_ascii=False)
    assert "\x00" not in stored and "\\u0000" not in stored
    assert "forms.example" in stored and "cdn.tra\ufffdcker.example" in stored
