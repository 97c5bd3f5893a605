"""The browser a run's browser steps share: one context of the worker's browser (so one run never sees
another's cookies or storage), one page, one guarded proxy that counts the run's requests and bytes against the
page limits. Opened by the first browser step, closed with the run.

Everything read from the page here is the target's: bounded in size and count, and checked before use.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, ConsoleMessage, Locator, Page, Request, Response
from playwright.async_api import Error as PlaywrightError

from scanfleet.worker.browser import BrowserError, BrowserRuntime
from scanfleet.worker.browser.proxy import GuardedProxy
from scanfleet.worker.checks.env import SuiteRun
from scanfleet.worker.checks.isolated import IsolatedReader

_VITALS = (Path(__file__).parent / "vitals.js").read_text()
MAX_LISTED = 50  # console errors and failed requests itemised per step; the rest are counted
_TEXT_CHARS = 500  # of a console message or a URL in the evidence
_LISTED_CHARS = 16_384  # of all the console messages itemised in one step
# Console events looked at per step: past this the page is flooding, and the step stops listening until the next.
MAX_CONSOLE_EVENTS = 1000
_REPORT_CHARS = 500  # a vitals report longer than this is not the platform's
_NAVIGATION = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return n ? [performance.timeOrigin, n.responseStart, n.domContentLoadedEventEnd, n.loadEventEnd] : null;
}"""
_MAX_MS = 3_600_000.0  # a timing beyond an hour is not a timing


@dataclass
class Vitals:
    origin: float = 0.0  # the document's performance.timeOrigin (epoch ms): which document they describe
    lcp: float | None = None
    cls: float = 0.0


@dataclass
class VitalsInbox:
    """The vitals script's reports (a binding's calls): the newest document's latest."""

    latest: Vitals = field(default_factory=Vitals)

    def __call__(self, source: dict[str, Any], payload: object) -> None:
        frame = source.get("frame")
        if frame is None or frame.parent_frame is not None or not isinstance(payload, str):
            return
        if len(payload) > _REPORT_CHARS:
            return
        try:
            report = json.loads(payload)
            origin, lcp, cls = float(report["origin"]), report["lcp"], float(report["cls"])
            lcp = None if lcp is None else float(lcp)
        except (ValueError, TypeError, KeyError):
            return  # not our script's report: a page calling the binding itself
        if origin < self.latest.origin:
            return  # a late report from a document the page has left
        self.latest = Vitals(origin, _ms(lcp), max(0.0, min(cls, 1000.0)))


@dataclass
class StepLog:
    """What the page did wrong while one step ran."""

    console_errors: list[dict[str, Any]] = field(default_factory=list)
    failed_requests: list[dict[str, Any]] = field(default_factory=list)
    console_error_count: int = 0
    failed_request_count: int = 0
    console_events: int = 0  # of any type, to stop a flood
    listed_chars: int = 0


@dataclass
class BrowserSession:
    runtime: BrowserRuntime
    context: BrowserContext
    instance: Any  # the runtime's browser this context lives in, for runtime.failure
    page: Page
    proxy: GuardedProxy
    vitals: VitalsInbox
    reader: IsolatedReader
    log: StepLog = field(default_factory=StepLog)
    secrets: set[str] = field(default_factory=set)  # filled or extracted as secret: masked in screenshots
    masked: list[Locator] = field(default_factory=list)  # the fields they were filled into

    def begin_step(self) -> tuple[StepLog, float]:
        """A fresh log for the next step, and the step's start as the page's clock reads it (epoch ms)."""
        if self.log.console_events >= MAX_CONSOLE_EVENTS:
            self.page.on("console", self._console)
            self.page.on("pageerror", self._page_error)
        self.log = StepLog()
        return self.log, time.time() * 1000

    def _console(self, message: ConsoleMessage) -> None:
        self._seen_console_event()
        if message.type == "error":
            url = message.location.get("url", "")
            self._add_console({"text": message.text[:_TEXT_CHARS], "url": url[:_TEXT_CHARS]})

    def _page_error(self, error: Exception) -> None:
        self._seen_console_event()
        self._add_console({"text": str(error)[:_TEXT_CHARS], "url": self.page.url[:_TEXT_CHARS], "uncaught": True})

    def _seen_console_event(self) -> None:
        self.log.console_events += 1
        if self.log.console_events == MAX_CONSOLE_EVENTS:
            self.page.remove_listener("console", self._console)
            self.page.remove_listener("pageerror", self._page_error)

    def _add_console(self, entry: dict[str, Any]) -> None:
        log = self.log
        log.console_error_count += 1
        size = len(entry["text"]) + len(entry["url"])
        if len(log.console_errors) < MAX_LISTED and log.listed_chars + size <= _LISTED_CHARS:
            log.listed_chars += size
            log.console_errors.append(entry)

    def _failed(self, request: Request) -> None:
        refused = self.proxy.refusal(request.url, failed=True)
        self._add_failure(request, {"error": refused or (request.failure or "failed")[:_TEXT_CHARS]})

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self._add_failure(response.request, {"status": response.status})

    def _add_failure(self, request: Request, what: dict[str, Any]) -> None:
        self.log.failed_request_count += 1
        if len(self.log.failed_requests) < MAX_LISTED:
            entry = {"url": request.url[:_TEXT_CHARS], "method": request.method, "resource": request.resource_type}
            self.log.failed_requests.append({**entry, **what})

    async def navigation(self, since_ms: float) -> dict[str, float | None]:
        """The top document's navigation timings (ms from its start), if it was loaded after `since_ms`."""
        none: dict[str, float | None] = {"ttfb": None, "dom_content_loaded": None, "load": None}
        try:
            found = await self.page.main_frame.evaluate(_NAVIGATION)
        except PlaywrightError:
            if self.page.is_closed():
                raise
            return none  # the page is between documents: none to read
        if not (isinstance(found, list) and len(found) == 4):
            return none
        try:
            origin, ttfb, loaded_dom, loaded = (float(value) for value in found)
        except (TypeError, ValueError):
            return none
        if origin < since_ms:
            return none  # the document is an earlier step's: this one did not navigate
        return {"ttfb": _ms(ttfb), "dom_content_loaded": _ms(loaded_dom), "load": _ms(loaded)}


async def session_for(run: SuiteRun) -> BrowserSession:
    """The run's session, opened on first use; its context and proxy close with the run. Raises BrowserError."""
    if run.browser is not None:
        return run.browser
    runtime, limits = run.env.browser, run.env.browse_limits
    if runtime is None:
        raise BrowserError("browser_unavailable", "this worker runs no browser")
    proxy = await run.resources.enter_async_context(
        runtime.proxy(limits.max_requests, limits.max_bytes, limits.connect_seconds)
    )
    context, instance = await run.resources.enter_async_context(runtime.context(proxy))
    vitals = VitalsInbox()
    try:
        binding = f"__sf{secrets.token_hex(6)}"
        await context.expose_binding(binding, vitals)
        await context.add_init_script(script=_VITALS.replace("__BINDING__", binding))
        page = await context.new_page()
    except (PlaywrightError, TimeoutError) as exc:
        raise runtime.failure(instance, exc) from exc
    session = BrowserSession(runtime, context, instance, page, proxy, vitals, IsolatedReader(context, page))
    page.on("console", session._console)
    page.on("pageerror", session._page_error)
    page.on("requestfailed", session._failed)
    page.on("response", session._response)
    run.browser = session
    return session


def _ms(value: float | None) -> float | None:
    """A timing as the page gave it, if it is one: 0 means the event has not happened (yet)."""
    if value is None or not 0 < value <= _MAX_MS:
        return None
    return round(value, 1)
