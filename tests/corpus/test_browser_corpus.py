"""The browser corpus end to end: every page on the fake internet, submitted at once over the API with
engine=browser, scanned by one real browser worker (Chromium), its evidence and issues read back over the API
and compared with what the corpus says, exactly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import trustme
from arq import Worker

from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.worker.privacy.rules import RULES
from tests.conftest import Tenant, make_tenant
from tests.corpus.browser_internet import corpus_internet
from tests.corpus.browser_pages import PAGES, page_html
from tests.corpus.model import BROWSER_EXHAUSTIVE_KINDS, BrowserPage
from tests.corpus.pages import GTM_SNIPPET
from tests.corpus.scoring import IDENTITY, problems
from tests.corpus.test_corpus import read_all
from tests.support.app import running_worker
from tests.support.internet import Hit, Internet, browsing, script
from tests.support.site import eventually, html

IDS = [page.name for page in PAGES]
ISOLATION = "https://isolation.test/"
# A shop that remembers a returning visitor: anything an earlier scan left (cookie, storage) shows in its evidence.
RETURNING = """if (localStorage.getItem('cart') !== null || document.cookie.indexOf('visited=') >= 0)
  localStorage.setItem('returning', '1');
localStorage.setItem('cart', '[]');
document.cookie = 'visited=1; max-age=86400; path=/';"""


@pytest.fixture(scope="module")
def internet(ca: trustme.CA) -> Iterator[Internet]:
    with corpus_internet(ca, hosts=("isolation.test",)) as running:
        body = page_html(GTM_SNIPPET.replace("GTM-K4X9PQ2", "GTM-SHOP1") + '<script src="/returning.js"></script>')
        running.add(ISOLATION, html(body))
        running.add(f"{ISOLATION}returning.js", script(RETURNING))
        yield running


@pytest.fixture(scope="module")
async def browser_worker(settings: Settings, internet: Internet) -> AsyncIterator[Worker]:
    """One browser worker for the module, four pages at once. A page's budget only cuts a page short, and typing
    the canaries into a page is slow on a loaded machine: a minute, so that no scan is cut short."""
    settings = browsing(settings, internet, browser_worker_pages=4, browser_page_seconds=60)
    async with running_worker(settings) as worker:
        yield worker


@dataclass(frozen=True)
class Scanned:
    scan: dict[str, Any]
    evidence: list[dict[str, Any]]
    issues: list[dict[str, Any]]


async def scan_all(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant, urls: list[str], timeout: float = 120
) -> list[Scanned]:
    """Submit every URL at once as a browser scan, wait for all of them (on the database: polling the API would
    spend the key's rate limit), then read each one's scan, evidence and issues over the API."""
    answers = await asyncio.gather(
        *(api.post("/v1/scans", json={"url": url, "engine": "browser"}, headers=tenant.headers) for url in urls)
    )
    assert [answer.status_code for answer in answers] == [202] * len(urls), [answer.text for answer in answers]
    ids = [answer.json()["id"] for answer in answers]

    async def all_final() -> bool:
        return all([await scans.is_final(pool, uuid.UUID(scan_id)) for scan_id in ids])

    await eventually(all_final, timeout=timeout, interval=0.2)
    found = []
    for scan_id in ids:
        scan = (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).json()
        evidence = await read_all(api, tenant, f"/v1/scans/{scan_id}/evidence")
        issues = await read_all(api, tenant, f"/v1/scans/{scan_id}/issues")
        found.append(Scanned(scan, evidence, issues))
    return found


@dataclass(frozen=True)
class Corpus:
    tenant: Tenant
    pages: dict[str, Scanned]


@pytest.fixture(scope="module")
async def corpus(api: httpx.AsyncClient, pool: asyncpg.Pool, browser_worker: Worker) -> Corpus:
    """Every corpus page scanned once, all submitted together by one organisation."""
    tenant = await make_tenant(pool, "enterprise")  # room for every page in its browser line
    results = await scan_all(api, pool, tenant, [page.url for page in PAGES])
    return Corpus(tenant, dict(zip(IDS, results, strict=True)))


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_browser_corpus_page_end_to_end(corpus: Corpus, page: BrowserPage) -> None:
    result = corpus.pages[page.name]
    scan = result.scan
    assert (scan["status"], scan["engine"], scan["final_url"]) == ("succeeded", "browser", page.url), scan
    codes = {issue["code"] for issue in result.issues}
    assert problems(page, result.evidence, codes, BROWSER_EXHAUSTIVE_KINDS) == []
    assert all(issue["evidence"] and max(issue["evidence"]) < len(result.evidence) for issue in result.issues)


async def test_a_browser_scan_is_found_by_the_domains_its_scripts_reached_at_run_time(
    api: httpx.AsyncClient, corpus: Corpus
) -> None:
    """gtm-shop's page names only googletagmanager.com: Google Analytics and DoubleClick appear at run time."""
    scan_id = corpus.pages["gtm-shop"].scan["id"]
    for domain, vendor in (("google-analytics.com", "Google Analytics"), ("doubleclick.net", "Google DoubleClick")):
        listed = await read_all(api, corpus.tenant, f"/v1/domains/{domain}/scans")
        found = [(item["tracker"], item["vendor"]) for item in listed if item["scan_id"] == scan_id]
        assert found == [(True, vendor)], listed
    plain = await read_all(api, corpus.tenant, "/v1/domains/googletagmanager.com/scans")
    assert corpus.pages["plain-shop"].scan["id"] not in [item["scan_id"] for item in plain]


def test_every_browser_rule_fires_on_some_page() -> None:
    """The browser-only rules, and the one whose cookies a browser's jar adds to."""
    reported = {code for page in PAGES for code in page.reported_issues}
    browser_rules = {rule.code for rule in RULES if rule.browser_only} | {"third_party_cookies_before_consent"}
    assert browser_rules - reported == set()


def test_every_true_row_has_the_details_the_quality_bench_pairs_it_by() -> None:
    for page in PAGES:
        for row in page.all_rows:
            if row.truth and row.kind in IDENTITY:
                assert set(IDENTITY[row.kind]) <= set(row.details), (page.name, row)


def test_page_names_are_unique_and_truth_is_consistent() -> None:
    assert len(IDS) == len(set(IDS))
    for page in PAGES:
        assert not page.issues & (page.missed_issues | page.spurious_issues), page.name
        assert not page.missed_issues & page.spurious_issues, page.name


def _from(hits: list[Hit], origin: str) -> list[Hit]:
    """The requests a page of `origin` made: its own, and others' that name it as their referrer."""
    host = origin.split("/")[2]
    return [hit for hit in hits if hit.host == host or hit.headers.get("referer", "").startswith(origin)]


async def test_two_organisations_consecutive_scans_share_no_state(
    api: httpx.AsyncClient, pool: asyncpg.Pool, browser_worker: Worker, internet: Internet
) -> None:
    """The same page scanned by one organisation, then another: the second scan carries no cookie, finds no storage
    and fetches nothing from the cache the first left."""
    first_org, second_org = await make_tenant(pool), await make_tenant(pool)
    before = len(internet.hits)
    [first] = await scan_all(api, pool, first_org, [ISOLATION])
    between = len(internet.hits)
    [second] = await scan_all(api, pool, second_org, [ISOLATION])
    first_hits, second_hits = _from(internet.hits[before:between], ISOLATION), _from(internet.hits[between:], ISOLATION)

    assert first.scan["status"] == second.scan["status"] == "succeeded"
    for result in (first, second):
        storage = [
            (row["details"]["origin"], row["details"]["names"]) for row in result.evidence if row["kind"] == "storage"
        ]
        assert storage == [("https://isolation.test", ["cart"])]  # "returning" would mean the first visit was seen
        cookies = sorted(row["details"]["name"] for row in result.evidence if row["kind"] == "browser_cookie")
        assert cookies == ["IDE", "_ga", "_ga_7XK2M9QW4R", "visited"]
    # The first scan left cookies for the page and for doubleclick.net, and a cacheable container: none is reused.
    # (The page's and DoubleClick's first requests come before the second scan's own scripts could set any.)
    firsts = [hit for hit in second_hits if hit.path == "/" or hit.host == "googleads.g.doubleclick.net"]
    assert [(hit.host, hit.path) for hit in firsts] == [
        ("isolation.test", "/"),
        ("googleads.g.doubleclick.net", "/pagead/viewthroughconversion/111222333/?guid=ON&script=0"),
    ]
    assert [hit.headers.get("cookie") for hit in firsts] == [None, None]
    for hits in (first_hits, second_hits):
        assert [hit.path for hit in hits if hit.host == "www.googletagmanager.com"] == [
            "/gtm.js?id=GTM-SHOP1",
            "/gtag/js?id=G-7XK2M9QW4R",
        ]
    # Each organisation sees its own scan only.
    other = await api.get(f"/v1/scans/{first.scan['id']}", headers=second_org.headers)
    assert other.status_code == 404
