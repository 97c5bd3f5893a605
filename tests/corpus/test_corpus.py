"""The privacy corpus end to end: each page served on 127.0.0.1, submitted over the API, scanned by an arq
worker, its evidence and issues read back over the API and compared with what the corpus says."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import trustme
from arq import Worker

from scanfleet.db import scans
from scanfleet.worker.privacy import EVIDENCE_KINDS, analyse
from scanfleet.worker.privacy.rules import RULES
from tests.conftest import Tenant
from tests.corpus.model import PARTIAL_KINDS, SERVERS, CorpusPage, Row
from tests.corpus.offline import fetch_result
from tests.corpus.pages import PAGES
from tests.corpus.scoring import as_api_row, problems
from tests.support.site import FixtureSite, Page, eventually

IDS = [page.name for page in PAGES]


@pytest.fixture(scope="module")
def servers(site: FixtureSite, tls_site: FixtureSite, ca: trustme.CA) -> Iterator[dict[str, FixtureSite]]:
    """A running site per corpus server: the session's plain and HTTPS sites, plus one per short-lived certificate."""
    now = datetime.now(UTC)
    running = {"http": site, "https": tls_site}
    with contextlib.ExitStack() as stack:
        for name, server in SERVERS.items():
            if server.cert_days is not None:
                expiring = FixtureSite(ca, not_after=now + timedelta(days=server.cert_days))
                running[name] = stack.enter_context(expiring)
        yield running


def serve(page: CorpusPage, servers: dict[str, FixtureSite]) -> str:
    """Put the page on its server; the URL a scan starts from."""
    url = servers[page.server].add(page.path, Page(200, page.response_headers(), page.body.encode()))
    if not page.via_http:
        return url
    return servers["http"].add(f"{page.path}/start", Page(301, [("Location", url)]))


async def read_all(api: httpx.AsyncClient, tenant: Tenant, path: str) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        page = (await api.get(path, headers=tenant.headers, params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("page", PAGES, ids=IDS)
async def test_corpus_page_end_to_end(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    worker: Worker,
    tenant: Tenant,
    servers: dict[str, FixtureSite],
    page: CorpusPage,
) -> None:
    response = await api.post("/v1/scans", json={"url": serve(page, servers)}, headers=tenant.headers)
    assert response.status_code == 202, response.text
    scan_id = response.json()["id"]
    # Waits on the database, then reads over HTTP: polling the API would spend the key's rate limit.
    await eventually(lambda: scans.is_final(pool, uuid.UUID(scan_id)))
    scan = (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).json()
    assert scan["status"] == "succeeded", scan

    evidence = await read_all(api, tenant, f"/v1/scans/{scan_id}/evidence")
    issues = await read_all(api, tenant, f"/v1/scans/{scan_id}/issues")
    assert problems(page, evidence, {issue["code"] for issue in issues}) == []
    assert all(issue["evidence"] and max(issue["evidence"]) < len(evidence) for issue in issues)
    [coverage] = [row["details"] for row in evidence if row["kind"] == "coverage"]
    assert coverage["bytes"] == len(page.body.encode())
    assert coverage["content_type"] == "text/html"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_corpus_page_offline(page: CorpusPage) -> None:
    """The page as bench/privacy_quality.py builds it, without a network, reports the same."""
    now = datetime.now(UTC)
    evidence, issues = analyse(fetch_result(page, now), now)
    assert problems(page, [as_api_row(row) for row in evidence], {issue.code for issue in issues}) == []


def test_every_rule_fires_on_some_page() -> None:
    """Every rule an http scan can fire; the browser-only ones fire in tests/integration/browser."""
    reported = {code for page in PAGES for code in page.reported_issues}
    assert {rule.code for rule in RULES if not rule.browser_only} - reported == set()


def test_every_evidence_kind_is_reported_on_some_page() -> None:
    assert set(PARTIAL_KINDS) < set(EVIDENCE_KINDS)
    reported = {row.kind for page in PAGES for row in page.all_rows if row.reported}
    assert set(EVIDENCE_KINDS) - reported == set()


def test_page_names_are_unique_and_truth_is_consistent() -> None:
    assert len(IDS) == len(set(IDS))
    for page in PAGES:
        assert not page.issues & (page.missed_issues | page.spurious_issues), page.name
        assert not page.missed_issues & page.spurious_issues, page.name


def test_problems_reports_every_kind_of_difference() -> None:
    """The comparison the corpus relies on can fail: extra, missing, missed-now-seen rows and wrong codes."""
    page = next(page for page in PAGES if page.name == "analytics")
    now = datetime.now(UTC)
    evidence, issues = analyse(fetch_result(page, now), now)
    rows = [as_api_row(row) for row in evidence]
    codes = {issue.code for issue in issues}
    trackers = [row for row in rows if row["kind"] == "tracker"]

    without_a_tracker = [row for row in rows if row is not trackers[0]]
    assert [p for p in problems(page, without_a_tracker, codes) if p.startswith("expected, not reported")]
    extra = [*rows, {**trackers[0], "details": {**trackers[0]["details"], "host": "other.test"}}]
    assert [p for p in problems(page, extra, codes) if p.startswith("reported, not expected")]
    assert [p for p in problems(page, rows, codes - {"tag_manager_present"}) if p.startswith("issue codes")]
    with_known_miss = replace(page, rows=(*page.rows, Row("tracker", {"vendor": "Matomo"}, reported=False)))
    assert [p for p in problems(with_known_miss, rows, codes) if p.startswith("known miss")]
