"""Reports read as people read them: the real API on a loopback port, its pages opened in Chromium, every request
the page makes recorded. The browser scan's evidence is a real browser scan of the fake shop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, Page, Request, Route, async_playwright
from pydantic import SecretStr

from scanfleet.chromium import chromium_path
from scanfleet.config import Settings
from tests.integration.browser.conftest import ca_file, internet, runtime, shop
from tests.support.app import live_api

__all__ = ["ca_file", "internet", "runtime", "shop"]  # the browser scan of the fake shop, from the browser tests

SHARE_SECRET = "report-share-secret-for-the-tests-0123456789"


@pytest.fixture(scope="module")
def report_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"report_share_secret": SecretStr(SHARE_SECRET)})


@pytest.fixture(scope="module")
async def base(report_settings: Settings) -> AsyncIterator[str]:
    """The API's base URL (uvicorn on loopback, as `python -m scanfleet.api` serves it)."""
    async with live_api(report_settings) as url:
        yield url


@pytest.fixture(scope="module")
async def viewer() -> AsyncIterator[Browser]:
    """Chromium, as a reader of the reports uses one."""
    executable = chromium_path(None)
    assert executable is not None, "no Chromium on this machine"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(executable))
        yield browser
        await browser.close()


@dataclass
class Opened:
    page: Page
    base: str
    requests: list[str] = field(default_factory=list)  # every URL the page sent to the network, in order

    def outside(self) -> list[str]:
        """Requests for anywhere but the API (refused before they left)."""
        return [url for url in self.requests if not url.startswith(f"{self.base}/")]


@asynccontextmanager
async def opened(viewer: Browser, base: str, path: str, headers: dict[str, str] | None = None) -> AsyncIterator[Opened]:
    """The API's `path` loaded in a context of its own (sending `headers`), until it has made no request for a
    while."""
    context = await viewer.new_context(extra_http_headers=headers or {}, viewport={"width": 1200, "height": 900})
    try:
        page = await context.new_page()
        seen = Opened(page, base)

        async def record(route: Route, request: Request) -> None:
            # Routing sees what goes to the network (not data: URIs, nor what a page's policy refused); what is
            # not for the API is recorded and refused: tests reach no server of the internet.
            seen.requests.append(request.url)
            await (route.continue_() if request.url.startswith(f"{base}/") else route.abort())

        await context.route("**/*", record)
        response = await page.goto(f"{base}{path}", wait_until="networkidle")
        assert response is not None and response.status == 200, response and await response.text()
        yield seen
    finally:
        await context.close()


async def held_until(release: asyncio.Event) -> None:
    """Waits for `release`, even when cancelled (the cancellation comes after): a printer slot taken by the waiting
    print stays taken past that print's budget, so a print queued behind it cannot get it by outlasting it."""
    try:
        await release.wait()
    except asyncio.CancelledError:
        await release.wait()
        raise
