"""GET …/report as people read it: opened in Chromium from the real API, it shows the issues, the evidence, the
screenshot and the tables, and asks nothing of any server but the API, whatever the target put in its evidence."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from scanfleet.artifacts import open_store
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.config import Settings
from scanfleet.db import results, scans
from scanfleet.model import Attachment, Engine, Evidence, Issue, Job, Outcome, Severity, Status
from scanfleet.reports import share
from tests.conftest import Tenant, make_tenant
from tests.integration.browser.sites import SHOP
from tests.integration.reports.conftest import SHARE_SECRET, held_until, opened
from tests.support.site import FixtureSite, eventually, html


@pytest.fixture
def decoy() -> Iterator[FixtureSite]:
    """A server the reports' hostile evidence points at: a report that fetched anything would show in its hits."""
    with FixtureSite() as running:
        yield running


async def finished(pool: asyncpg.Pool, tenant: Tenant, url: str, outcome: Outcome, engine: Engine = "http") -> Job:
    scan = await scans.insert(pool, tenant.org.id, url, engine=engine)
    claimed = await scans.claim(pool, scan.id, lease_seconds=60)
    assert claimed is not None and await results.record_outcome(pool, claimed, outcome)
    return claimed


def hostile(outcome: Outcome, decoy: FixtureSite) -> Outcome:
    """The outcome with a request row and an issue whose every text tries to make the report load the decoy."""
    bait = decoy.url("/bait")
    row = Evidence(
        "request", Severity.MEDIUM, f'<img src="{bait}/title.png">',
        {"url": f"{bait}/x.js", "host": "decoy.test", "party": "third", "resource_type": "Script",
         "initiator": {"type": "parser", "url": SHOP}, "vendor": f'<iframe src="{bait}/vendor"></iframe>'},
        location=f'"><link rel=stylesheet href="{bait}/style.css">',
    )  # fmt: skip
    issue = Issue(
        "third_party_scripts", Severity.HIGH, f'Loads <script src="{bait}/issue.js"></script>',
        f'<a href="{bait}/click">read more</a><meta http-equiv="refresh" content="0;url={bait}/refresh">',
        (len(outcome.evidence),),
    )  # fmt: skip
    return dataclasses.replace(outcome, evidence=[*outcome.evidence, row], issues=[*outcome.issues, issue])


async def png(viewer: Browser) -> bytes:
    page = await viewer.new_page(viewport={"width": 640, "height": 400})
    await page.set_content("<body style='margin:0;background:#2a6'><h1>The shop, as scanned</h1></body>")
    image = await page.screenshot()
    await page.close()
    return image


async def cells(page: Any, table: str, column: int) -> list[str]:
    texts: list[str] = await page.locator(f"#{table} tbody tr td:nth-child({column})").all_inner_texts()
    return [text.strip() for text in texts]


async def test_a_browser_scans_report_shows_issues_screenshot_tables_and_timeline_and_fetches_nothing(
    base: str, viewer: Browser, pool: asyncpg.Pool, shop: Outcome, decoy: FixtureSite,
    report_settings: Settings, tmp_path: Any,
) -> None:  # fmt: skip
    tenant = await make_tenant(pool)
    outcome = hostile(shop, decoy)
    image = await png(viewer)
    # Stored as a worker stores it: the blob in the API's own store, its row with the results.
    outcome.attachments = [Attachment("screenshot", "image/png", image)]
    store = await open_store(report_settings)
    try:
        await ArtifactWriter(store, 1 << 20, 1 << 20).write(tenant.org.id, outcome.attachments)
    finally:
        await store.close()
    scan = await finished(pool, tenant, SHOP, outcome, engine="browser")
    async with opened(viewer, base, f"/v1/scans/{scan.id}/report", tenant.headers) as seen:
        page = seen.page
        await page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        titles = page.locator(".issue-title")
        shown = [title.strip() for title in await titles.all_inner_texts()]
        assert sorted(shown) == sorted(issue.title for issue in outcome.issues)
        assert all([await title.is_visible() for title in await titles.all()])
        order = list(Severity)
        assert [Severity(s) for s in await page.locator("section.issue").evaluate_all(
            "sections => sections.map(s => s.classList[1])")] == sorted(
            (i.severity for i in outcome.issues), key=order.index)  # fmt: skip
        # The explanation and the evidence behind an issue.
        hostile_issue = page.locator("section.issue", has_text="Loads <script")
        assert "read more" in await hostile_issue.inner_text()
        assert await hostile_issue.locator(".evidence b").inner_text() == outcome.evidence[-1].title
        width = await page.eval_on_selector("#screenshot-image", "img => img.complete ? img.naturalWidth : 0")
        assert width == 640
        requests = [e.details for e in outcome.evidence if e.kind == "request"]
        third = {r["host"] for r in requests if r["party"] == "third"}
        assert await cells(page, "third-party-table", 1) == sorted(third)
        jar = sorted((e.details["name"], e.details["domain"]) for e in outcome.evidence if e.kind == "browser_cookie")
        shown_jar = list(zip(await cells(page, "cookie-table", 1), await cells(page, "cookie-table", 2), strict=True))
        assert sorted(shown_jar) == jar and jar
        urls, loaded_by = await cells(page, "timeline-table", 2), await cells(page, "timeline-table", 7)
        orders = [int(n) for n in await cells(page, "timeline-table", 1)]
        assert sorted(orders) == list(range(1, len(requests) + 1))
        # analytics.js sits under the tag manager that injected it.
        analytics = next(i for i, url in enumerate(urls) if url.endswith("/analytics.js"))
        parent = orders.index(int(loaded_by[analytics].removeprefix("#")))
        assert urls[parent].removeprefix("└ ").startswith("https://www.googletagmanager.com/gtm.js")
        assert parent < analytics
        assert seen.outside() == [] and len(seen.requests) == 1, seen.requests
    assert decoy.hits == {}


@pytest.mark.usefixtures("worker")
async def test_an_http_scans_report_from_a_real_scan_shows_its_issues_cookies_and_third_parties(
    base: str, viewer: Browser, pool: asyncpg.Pool, site: FixtureSite, decoy: FixtureSite
) -> None:
    tenant = await make_tenant(pool)
    bait = decoy.url("/bait")
    url = site.add(f"/report-shop-{uuid.uuid4().hex[:8]}", html(
        f"""<!doctype html><html><head><title>Shop &lt;/title&gt;</title>
        <script src="https://www.google-analytics.com/analytics.js"></script>
        <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto"></head>
        <body><img src="{bait}/pixel.gif"><iframe src="{bait}/frame"></iframe>
        <form action="{bait}/signup"><input type="email" name="email"></form></body></html>""",
        ("Set-Cookie", "sid=1; Path=/"), ("Set-Cookie", "_ga=GA1.1; Domain=127.0.0.1; Path=/; Max-Age=86400"),
    ))  # fmt: skip
    async with httpx.AsyncClient(base_url=base, headers=tenant.headers) as api:
        scan_id = (await api.post("/v1/scans", json={"url": url})).json()["id"]

        async def done() -> dict[str, Any] | None:
            scan: dict[str, Any] = (await api.get(f"/v1/scans/{scan_id}")).json()
            return scan if scan["status"] not in ("queued", "running") else None

        scan = await eventually(done, timeout=30)
        assert scan["status"] == "succeeded", scan
        issues = (await api.get(f"/v1/scans/{scan_id}/issues?limit=500")).json()["items"]
    assert {"third_party_scripts", "analytics_tracker_present", "sensitive_form_over_http"} <= {
        issue["code"] for issue in issues
    }
    async with opened(viewer, base, f"/v1/scans/{scan_id}/report", tenant.headers) as seen:
        page = seen.page
        assert sorted(t.strip() for t in await page.locator(".issue-title").all_inner_texts()) == sorted(
            issue["title"] for issue in issues
        )
        assert {"fonts.googleapis.com", "www.google-analytics.com"} <= set(await cells(page, "third-party-table", 1))
        assert sorted(await cells(page, "cookie-table", 1)) == ["_ga", "sid"]
        assert await page.locator("#not-seen").is_visible()  # what an http scan cannot see
        assert await page.locator("#timeline-table").count() == 0 and await page.locator("img").count() == 0
        assert seen.outside() == [] and len(seen.requests) == 1, seen.requests
    assert decoy.hits == {}, "the worker's fetch or the report loaded what the page names"


@pytest.mark.usefixtures("worker")
async def test_a_runs_report_shows_each_step_and_its_assertions(
    base: str, viewer: Browser, pool: asyncpg.Pool, site: FixtureSite
) -> None:
    tenant = await make_tenant(pool)
    url = site.add("/report-health", html("<p>ok</p>"))
    suite = {"name": "health <check>", "steps": [
        {"kind": "http", "name": "home", "url": url, "assertions": [
            {"type": "status", "operator": "equals", "value": 200},
            {"type": "body", "operator": "contains", "value": "welcome"}]},
        {"kind": "http", "name": "never reached", "url": url}]}  # fmt: skip
    async with httpx.AsyncClient(base_url=base, headers=tenant.headers) as api:
        submitted = (await api.post("/v1/runs", json=suite)).json()
        assert submitted["report_url"] == f"{base}/v1/runs/{submitted['id']}/report"

        async def done() -> bool:
            return (await api.get(f"/v1/runs/{submitted['id']}")).json()["verdict"] is not None

        await eventually(done, timeout=30)
    async with opened(viewer, base, submitted["report_url"].removeprefix(base), tenant.headers) as seen:
        page = seen.page
        assert await page.locator("h1").inner_text() == "health <check>"
        assert await page.locator("#verdict").inner_text() == "FAILED"  # text-transform: uppercase
        titles = await page.locator(".step-title").all_inner_texts()
        assert titles == ["1. home: failed", "2. never reached: skipped"]
        results_shown = await page.locator(".assertions tbody tr td:nth-child(5)").all_inner_texts()
        assert [r.strip() for r in results_shown] == ["PASSED", "FAILED"]
        assert seen.outside() == []


async def finished_http_scan(pool: asyncpg.Pool, tenant: Tenant) -> Job:
    evidence = [Evidence("cookie", Severity.LOW, "Cookie sid for shop.test", {"name": "sid", "domain": "shop.test"})]
    issues = [Issue("cookie_without_httponly", Severity.LOW, "A cookie scripts can read", "Because.", (0,))]
    return await finished(pool, tenant, "https://shop.test/", Outcome(Status.SUCCEEDED, "https://shop.test/", 200,
                                                                        evidence=evidence, issues=issues))  # fmt: skip


async def test_the_report_is_linked_from_the_scan_cached_by_etag_and_scoped_to_the_organisation(
    base: str, pool: asyncpg.Pool
) -> None:
    tenant, other = await make_tenant(pool), await make_tenant(pool)
    scan = await finished_http_scan(pool, tenant)
    async with httpx.AsyncClient(base_url=base) as api:
        shown = (await api.get(f"/v1/scans/{scan.id}", headers=tenant.headers)).json()
        assert shown["report_url"] == f"{base}/v1/scans/{scan.id}/report"
        report = await api.get(shown["report_url"], headers=tenant.headers)
        assert report.status_code == 200 and report.headers["content-type"] == "text/html; charset=utf-8"
        assert "A cookie scripts can read" in report.text
        assert report.headers["content-security-policy"].startswith("default-src 'none'")
        etag = report.headers["etag"]
        json_etag = (await api.get(f"/v1/scans/{scan.id}", headers=tenant.headers)).headers["etag"]
        assert etag != json_etag and etag.startswith(json_etag[:-1])
        again = await api.get(shown["report_url"], headers={**tenant.headers, "If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        assert (await api.get(shown["report_url"])).status_code == 401
        for answer in (
            await api.get(shown["report_url"], headers=other.headers),  # another organisation's
            await api.get(f"/v1/runs/{scan.id}/report", headers=tenant.headers),  # a scan is not a run
            await api.get(f"/v1/scans/{uuid.uuid4()}/report", headers=tenant.headers),
        ):
            assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
        # Unfinished: the report so far, without an ETag (it will change).
        queued = await scans.insert(pool, tenant.org.id, "https://queued.test/")
        unfinished = await api.get(f"/v1/scans/{queued.id}/report", headers=tenant.headers)
        assert unfinished.status_code == 200 and "etag" not in unfinished.headers
        assert "has not finished yet" in unfinished.text


async def test_the_pdf_is_printed_by_chromium_with_its_own_etag(base: str, pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    scan = await finished_http_scan(pool, tenant)
    async with httpx.AsyncClient(base_url=base, headers=tenant.headers, timeout=60) as api:
        html_etag = (await api.get(f"/v1/scans/{scan.id}/report")).headers["etag"]
        pdf = await api.get(f"/v1/scans/{scan.id}/report?format=pdf")
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
        assert pdf.headers["etag"] != html_etag
        assert pdf.headers["content-disposition"] == f'inline; filename="scanfleet-scan-{scan.id}.pdf"'
        cached = await api.get(f"/v1/scans/{scan.id}/report?format=pdf", headers={"If-None-Match": pdf.headers["etag"]})
        assert cached.status_code == 304
        bad = await api.get(f"/v1/scans/{scan.id}/report?format=docx")
        assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "format"


async def test_without_a_browser_a_pdf_is_a_503_naming_why(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Any
) -> None:
    from tests.support.app import api_client

    tenant = await make_tenant(pool)
    scan = await finished_http_scan(pool, tenant)
    missing = settings.model_copy(update={"browser_executable": tmp_path / "no-chromium-here"})
    async with api_client(missing) as api:
        answer = await api.get(f"/v1/scans/{scan.id}/report?format=pdf", headers=tenant.headers)
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "pdf_unavailable", answer.text
        assert "no Chromium" in answer.json()["error"]["message"]
        assert (await api.get(f"/v1/scans/{scan.id}/report", headers=tenant.headers)).status_code == 200


async def test_a_share_link_serves_the_report_without_a_key_until_it_expires(
    base: str, viewer: Browser, pool: asyncpg.Pool, report_settings: Settings
) -> None:
    tenant = await make_tenant(pool)
    scan = await finished_http_scan(pool, tenant)
    async with httpx.AsyncClient(base_url=base) as api:
        made = await api.post(f"/v1/scans/{scan.id}/share", json={"expires_in_seconds": 3600}, headers=tenant.headers)
        assert made.status_code == 201, made.text
        link, expires_at = made.json()["url"], datetime.fromisoformat(made.json()["expires_at"])
        assert link.startswith(f"{base}/v1/shared/") and timedelta(minutes=59) < expires_at - datetime.now(UTC)
        shared = await api.get(link)  # no API key
        assert shared.status_code == 200 and "A cookie scripts can read" in shared.text
        assert (await api.get(link, headers={"If-None-Match": shared.headers["etag"]})).status_code == 304
        assert (await api.get(f"{link}?format=pdf", timeout=60)).content.startswith(b"%PDF-")
        default = await api.post(f"/v1/scans/{scan.id}/share", headers=tenant.headers)  # no body: a week
        assert timedelta(days=7) - (
            datetime.fromisoformat(default.json()["expires_at"]) - datetime.now(UTC)
        ) < timedelta(minutes=1)
        secret = SHARE_SECRET
        expired = share.sign(
            secret, share.Share("privacy", scan.id, tenant.org.id, datetime.now(UTC) - timedelta(seconds=1))
        )
        other_org = share.sign("not-the-platforms-secret-at-all-0123", share.Share(
            "privacy", scan.id, tenant.org.id, datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip
        token = link.rsplit("/", 1)[1]
        for forged, status, code in (
            (expired, 410, "share_expired"),
            (other_org, 404, "not_found"),
            (token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"), 404, "not_found"),
            ("x" * 600, 422, "validation_error"),
        ):
            answer = await api.get(f"/v1/shared/{forged}")
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), forged
        too_long = await api.post(
            f"/v1/scans/{scan.id}/share", json={"expires_in_seconds": 10**9}, headers=tenant.headers
        )
        assert too_long.status_code == 422 and too_long.json()["error"]["fields"][0]["field"] == "expires_in_seconds"
        other = await make_tenant(pool)
        assert (await api.post(f"/v1/scans/{scan.id}/share", headers=other.headers)).status_code == 404
        assert (await api.post(f"/v1/scans/{scan.id}/share")).status_code == 401
        # Deleted: its link stops working at once.
        assert (await api.delete(f"/v1/scans/{scan.id}", headers=tenant.headers)).status_code == 204
        assert (await api.get(link)).status_code == 404
    assert report_settings.report_share_max_seconds < 10**9


async def test_a_share_link_past_its_requests_per_minute_is_429_and_other_links_are_not(
    report_settings: Settings, pool: asyncpg.Pool
) -> None:
    from tests.support.app import api_client

    tenant = await make_tenant(pool)
    scan = await finished_http_scan(pool, tenant)
    limited = report_settings.model_copy(update={"report_share_requests_per_minute": 2})
    later = datetime.now(UTC) + timedelta(hours=1)
    token, another = (
        share.sign(SHARE_SECRET, share.Share("privacy", scan.id, tenant.org.id, later + timedelta(seconds=extra)))
        for extra in (0, 1)
    )
    async with api_client(limited) as api:
        assert [(await api.get(f"/v1/shared/{token}")).status_code for _ in range(2)] == [200, 200]
        refused = await api.get(f"/v1/shared/{token}?format=pdf")
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
        assert refused.headers["ratelimit-remaining"] == "0"
        assert (await api.get(f"/v1/shared/{another}")).status_code == 200  # an allowance per link


async def test_a_pdf_waiting_for_the_printer_loads_nothing_until_it_has_a_slot(
    settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.app import api_client

    tenant = await make_tenant(pool)
    first, second = await finished_http_scan(pool, tenant), await finished_http_scan(pool, tenant)
    loading, release = asyncio.Event(), asyncio.Event()
    loaded: list[uuid.UUID] = []
    load = results.all_results

    async def hooked(source: asyncpg.Pool, table: results.Table, org_id: uuid.UUID, job_id: uuid.UUID) -> Any:
        loaded.append(job_id)
        if job_id == first.id:  # the first holds the only slot while it loads
            loading.set()
            await held_until(release)
        return await load(source, table, org_id, job_id)

    monkeypatch.setattr(results, "all_results", hooked)
    one_slot = settings.model_copy(update={"report_pdf_concurrency": 1, "report_pdf_seconds": 2.0})
    async with api_client(one_slot) as api:
        holder = asyncio.create_task(api.get(f"/v1/scans/{first.id}/report?format=pdf", headers=tenant.headers))
        try:
            await asyncio.wait_for(loading.wait(), 30)
            queued = await api.get(f"/v1/scans/{second.id}/report?format=pdf", headers=tenant.headers)
            assert (queued.status_code, queued.json()["error"]["code"]) == (503, "pdf_busy"), queued.text
            assert second.id not in loaded  # it waited its budget for the slot without loading its evidence
        finally:
            release.set()
            await holder


async def test_a_screenshot_past_the_cap_is_not_read_and_the_report_says_so(
    report_settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanfleet.api.routes import reports
    from tests.support.app import api_client

    tenant = await make_tenant(pool)
    image = b"\x89PNG\r\n\x1a\n" + b"\0" * 2048
    shot = Attachment("screenshot", "image/png", image)
    outcome = Outcome(Status.SUCCEEDED, "https://shop.test/", 200, attachments=[shot])
    store = await open_store(report_settings)
    try:
        await ArtifactWriter(store, 1 << 20, 1 << 20).write(tenant.org.id, outcome.attachments)
    finally:
        await store.close()
    scan = await finished(pool, tenant, "https://shop.test/", outcome)
    async with api_client(report_settings) as api:
        shown = await api.get(f"/v1/scans/{scan.id}/report", headers=tenant.headers)
        assert 'id="screenshot-image"' in shown.text  # under the cap: inline
        monkeypatch.setattr(reports, "SCREENSHOT_MAX_BYTES", 1024)
        capped = await api.get(f"/v1/scans/{scan.id}/report", headers=tenant.headers)
    assert capped.status_code == 200 and 'id="screenshot-image"' not in capped.text
    assert f"({len(image)} bytes) is too large to show" in capped.text


async def test_sharing_is_off_without_a_secret(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    scan = await finished_http_scan(pool, tenant)
    answer = await api.post(f"/v1/scans/{scan.id}/share", headers=tenant.headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "sharing_disabled")
    token = share.sign(
        SHARE_SECRET, share.Share("privacy", scan.id, tenant.org.id, datetime.now(UTC) + timedelta(hours=1))
    )
    assert (await api.get(f"/v1/shared/{token}")).status_code == 404


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_render_in_chromium_from_the_api_alone(base: str, viewer: Browser, path: str) -> None:
    async with opened(viewer, base, path) as seen:
        selector = ".swagger-ui .info .title" if path == "/docs" else "h1"
        await seen.page.wait_for_selector(f"{selector}:has-text('scanfleet')", timeout=20_000)
        assert f"{base}/openapi.json" in seen.requests
        assert seen.outside() == [], seen.outside()
