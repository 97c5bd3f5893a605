"""Reports as PDF, printed by Chromium through Playwright: one browser per process, launched on the first PDF, a
few pages at a time, each within a time budget, and with every request refused while it prints. A print that
misses its budget closes its own page only: the others printing at the time finish on the same browser.

A report loads nothing (its policy says so), but printing is the one place the platform renders the target's text
in a browser: the page gets no network at all, and no JavaScript.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Browser, PdfMargins, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from scanfleet.chromium import HOW_TO_GET_ONE, chromium_path

log = logging.getLogger(__name__)

_CLOSE_SECONDS = 5.0
_MARGINS: PdfMargins = {"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"}


class PdfUnavailable(Exception):
    """No PDF now. `code`: pdf_unavailable (no browser here, or it would not start), pdf_busy (not printed within
    the budget: try again)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


async def _given(html: str) -> str:
    return html


async def _refuse(route: Route) -> None:
    await route.abort("blockedbyclient")


class PdfPrinter:
    def __init__(self, executable: Path | None, concurrency: int, seconds: float) -> None:
        self._executable = executable  # as configured; looked up on PATH when None
        self._slots = asyncio.Semaphore(concurrency)
        self._seconds = seconds
        self._launching = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def print(self, html: str) -> bytes:
        return await self.render_and_print(lambda: _given(html))

    async def render_and_print(self, render: Callable[[], Awaitable[str]]) -> bytes:
        """`render()`'s page as a PDF. It is called once a slot is free, so requests queued for the printer hold no
        rendered page meanwhile; the budget covers the wait, the rendering and the printing."""
        try:
            async with asyncio.timeout(self._seconds):
                async with self._slots:
                    html = await render()
                    browser = await self._current()
                    try:
                        return await self._print(browser, html)
                    except PlaywrightError as exc:
                        if not browser.is_connected():  # it died: the next PDF gets a new one
                            await self._retire(browser)
                        raise PdfUnavailable("pdf_unavailable", f"the browser failed to print: {exc.message}") from None
        except TimeoutError:
            raise PdfUnavailable("pdf_busy", f"the PDF was not ready within {self._seconds:g} s") from None

    async def _print(self, browser: Browser, html: str) -> bytes:
        context = await browser.new_context(java_script_enabled=False, offline=True)
        try:
            page = await context.new_page()
            await page.route("**/*", _refuse)
            await page.set_content(html, wait_until="load")
            return await page.pdf(format="A4", print_background=True, margin=_MARGINS)
        finally:
            # Past the budget only this print's page goes; the browser, shared with the other prints, stays unless
            # it cannot even close a context (then it is hung).
            try:
                async with asyncio.timeout(_CLOSE_SECONDS):
                    await context.close()
            except PlaywrightError:
                pass
            except TimeoutError:
                await self._retire(browser)

    async def _current(self) -> Browser:
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            path = chromium_path(self._executable)
            if path is None:
                raise PdfUnavailable("pdf_unavailable", f"no Chromium on this API server ({HOW_TO_GET_ONE})")
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            try:
                self._browser = await self._playwright.chromium.launch(executable_path=str(path), headless=True)
            except PlaywrightError as exc:
                raise PdfUnavailable("pdf_unavailable", f"Chromium at {path} did not start: {exc.message}") from None
            log.info("launched %s to print reports", path)
            return self._browser

    async def _retire(self, browser: Browser | None) -> None:
        if browser is self._browser:  # not a newer one, launched since
            self._browser = None
        if browser is not None:
            with contextlib.suppress(PlaywrightError, TimeoutError):
                async with asyncio.timeout(_CLOSE_SECONDS):
                    await browser.close()

    async def close(self) -> None:
        await self._retire(self._browser)
        if self._playwright is not None:
            with contextlib.suppress(PlaywrightError):
                await self._playwright.stop()
            self._playwright = None
