"""A browser step: its actions in order on the run's page, each within its own time and the step's; the first
that fails (an element that never becomes ready, an assertion that does not hold in time, a navigation the
guard refuses) ends the step with a screenshot and a DOM snapshot. Then its timings: navigation (TTFB,
DOMContentLoaded, load), Largest Contentful Paint and Cumulative Layout Shift, and the total, judged against
the step's thresholds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from scanfleet.checks import BrowserStep
from scanfleet.checks.actions import (
    AssertAttribute,
    AssertCount,
    AssertHidden,
    AssertText,
    AssertTitle,
    AssertUrl,
    AssertVisible,
    Check,
    Click,
    Extract,
    Fill,
    Goto,
    Hover,
    PageAssertion,
    Press,
    Screenshot,
    Select,
    TimingThreshold,
    WaitFor,
)
from scanfleet.checks.steps import MAX_TEXT
from scanfleet.checks.targets import url_from_variable, url_problem, without_userinfo
from scanfleet.checks.template import MissingVariable, render
from scanfleet.model import Attachment
from scanfleet.worker.browser import BrowserError
from scanfleet.worker.browser.screenshot import bounded_screenshot
from scanfleet.worker.checks.assertions import AssertionResult, Finding, judge
from scanfleet.worker.checks.attempt import Attempt, Observation, StepError
from scanfleet.worker.checks.browser_session import MAX_CONSOLE_EVENTS, BrowserSession, session_for
from scanfleet.worker.checks.env import SuiteRun
from scanfleet.worker.checks.evidence import redact, shown_forms
from scanfleet.worker.checks.operators import compare, text_matches
from scanfleet.worker.checks.timing import Timings

_POLL_SECONDS = 0.1  # between looks at the page while an assertion does not hold yet
_LOOK_SECONDS = 1.0  # at most, for one look (within the step's hang grace)
_COLLECT_SECONDS = 10.0  # reading timings and taking the failure's screenshot, after the step's own time
_HANG_GRACE_SECONDS = 5.0  # past the step's time a browser that has not answered its own timeouts is hung
# Read past the snapshot's limit so that a secret across the cut is redacted whole before the cut is made.
_SNAPSHOT_SLACK = 64 * 1024
_READ_FACTOR = 4  # read this many times MAX_TEXT of an element's text: whitespace collapses before the cut


class _Stop(Exception):
    """The action failed: the step ends here."""

    def __init__(self, error: StepError | None = None) -> None:
        super().__init__(error.message if error else "assertion failed")
        self.error = error


async def execute(step: BrowserStep, run: SuiteRun) -> Attempt:
    observation = Observation(observed_at=run.env.now())
    label = step.label  # as written: the rendered step may hold secrets
    # URLs that take their scheme and host from a variable: checked once it is filled in (as an http step's).
    unchecked = {
        index for index, action in enumerate(step.actions) if isinstance(action, Goto) and url_from_variable(action.url)
    }
    try:
        step = step.map_templates(lambda _field, text: render(text, run.variables))
    except MissingVariable as exc:
        message = f"{{{{{exc.name}}}}} has no value: the step that sets it did not"
        return Attempt(observation, Timings(), StepError("variable_missing", message))
    secrets = {action.value for action in step.actions if isinstance(action, Fill) and action.secret and action.value}
    try:
        session = await session_for(run)
    except BrowserError as exc:
        return Attempt(observation, Timings(), StepError(exc.code, exc.message), secrets=secrets)
    session.secrets |= secrets
    limits = run.env.browse_limits
    attempt = Attempt(observation, Timings(), secrets=secrets)
    walk = _Walk(step, label, session, attempt, limits.max_document_bytes, limits.max_artifact_bytes, unchecked)
    try:
        return await walk.run()
    except BrowserError as exc:
        run.browser = None  # that browser is gone: a later step starts on a new one
        walk.attempt.error = StepError(exc.code, exc.message)
        walk.attempt.extra["actions"] = walk.actions
        return walk.attempt


@dataclass
class _Walk:
    step: BrowserStep
    label: str
    session: BrowserSession
    attempt: Attempt
    max_document_bytes: int  # of the DOM snapshot kept
    max_artifact_bytes: int  # of a screenshot
    unchecked: set[int]  # the gotos whose URL is to be checked now
    actions: list[dict[str, Any]] = field(default_factory=list)
    deadline: float = 0.0

    async def run(self) -> Attempt:
        log, since_ms = self.session.begin_step()
        before = self.session.vitals.latest
        started = time.perf_counter()
        self.deadline = time.monotonic() + self.step.timeout_seconds
        failed_at: int | None = None
        try:
            async with asyncio.timeout(self.step.timeout_seconds + _HANG_GRACE_SECONDS):
                for index, action in enumerate(self.step.actions):
                    failed_at = index
                    await self._act(index, action)
                failed_at = None
        except _Stop as stop:
            self.attempt.error = stop.error
        except (PlaywrightError, TimeoutError) as exc:
            raise self._failure(exc) from exc
        total = time.perf_counter() - started
        try:
            async with asyncio.timeout(_COLLECT_SECONDS):
                timings = await self._timings(since_ms, before.origin, before.cls, total)
                if failed_at is not None:
                    await self._evidence_of_failure(failed_at)
        except (PlaywrightError, TimeoutError) as exc:
            raise self._failure(exc) from exc
        self._record(timings, log, failed_at)
        return self.attempt

    def _failure(self, exc: BaseException) -> BrowserError:
        session = self.session
        return session.runtime.failure(session.instance, exc)

    # -- actions -------------------------------------------------------------------------------------------

    async def _act(self, index: int, action: Any) -> None:
        entry: dict[str, Any] = {"index": index, "action": action.action}
        entry.update({name: value for name, value in action.text_fields().items() if name != "value"})
        self.actions.append(entry)
        started = time.perf_counter()
        try:
            await self._do(index, action, entry)
        finally:
            entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
        entry["ok"] = True

    async def _do(self, index: int, action: Any, entry: dict[str, Any]) -> None:
        page = self.session.page
        if isinstance(action, PageAssertion):
            await self._assert(index, action)
        elif isinstance(action, Goto):
            await self._goto(index, action, entry)
        elif isinstance(action, Extract):
            await self._extract(index, action)
        elif isinstance(action, Screenshot):
            taken = await self._call(index, action, lambda ms: self._screenshot(ms, action.full_page))
            entry["attachment"] = len(self.attempt.attachments) - 1 if taken else None
        elif isinstance(action, WaitFor):
            if action.selector is not None:
                element, state = self._locator(action.selector).first, action.state
                await self._call(index, action, lambda ms: element.wait_for(state=state, timeout=ms))
            elif action.url is not None:
                url = action.url
                await self._call(index, action, lambda ms: page.wait_for_url(url, timeout=ms))
            else:
                load_state = action.load_state
                await self._call(index, action, lambda ms: page.wait_for_load_state(load_state, timeout=ms))
        else:
            await self._call(index, action, self._interaction(action))

    def _interaction(self, action: Any) -> Callable[[float], Awaitable[Any]]:
        locator = self._locator(action.selector)
        if isinstance(action, Click):
            return lambda ms: locator.click(timeout=ms)
        if isinstance(action, Fill):
            if action.secret:
                self.session.masked.append(locator)
            return lambda ms: locator.fill(action.value, timeout=ms)
        if isinstance(action, Press):
            return lambda ms: locator.press(action.key, timeout=ms)
        if isinstance(action, Select):
            return lambda ms: locator.select_option(action.value, timeout=ms)
        if isinstance(action, Check):
            return lambda ms: locator.set_checked(action.checked, timeout=ms)
        assert isinstance(action, Hover)
        return lambda ms: locator.hover(timeout=ms)

    def _locator(self, selector: str) -> Locator:
        return self.session.page.locator(selector)

    async def _call(self, index: int, action: Any, call: Callable[[float], Awaitable[Any]]) -> Any:
        """`call` with the action's time in ms; its failure (not the browser's) stops the step."""
        seconds = self._seconds(index, action)
        try:
            return await call(seconds * 1000)
        except PlaywrightTimeoutError:
            raise _Stop(StepError("timeout", f"{_name(index, action)}: not done within {seconds:g}s")) from None
        except PlaywrightError as exc:
            if self.session.page.is_closed() or _crashed(exc):
                raise
            raise _Stop(StepError("action_failed", f"{_name(index, action)}: {_first_line(exc)}")) from None

    def _seconds(self, index: int, action: Any) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            message = f"{_name(index, action)}: the step's {self.step.timeout_seconds:g}s ran out"
            raise _Stop(StepError("timeout", message))
        return min(self.step.action_timeout_seconds, left)

    async def _goto(self, index: int, action: Goto, entry: dict[str, Any]) -> None:
        entry["url"] = without_userinfo(action.url)
        problem = url_problem(action.url) if index in self.unchecked else None
        if problem is not None:
            raise _Stop(StepError("invalid_url", f"{_name(index, action)}: {problem.message}"))
        page, proxy = self.session.page, self.session.proxy
        try:
            response = await self._call(
                index, action, lambda ms: page.goto(action.url, wait_until=action.wait_until, timeout=ms)
            )
        except _Stop as stop:
            refused = proxy.refusal(action.url, failed=True)
            if refused is None or stop.error is None:
                raise
            raise _Stop(StepError(refused, f"{_name(index, action)}: {stop.error.message}")) from None
        # The proxy answers a refused http request itself: a response, but the guard's verdict is what it means.
        refused = proxy.refusal(response.url if response is not None else action.url, failed=False)
        if refused is not None:
            message = f"{_name(index, action)}: the SSRF guard refused it ({refused})"
            raise _Stop(StepError(refused, message))
        entry["status"] = response.status if response is not None else None

    async def _screenshot(self, ms: float, full_page: bool = False) -> bool:
        session = self.session
        # The fields secrets were typed into, and any element whose text shows one.
        mask = [*session.masked, *(session.page.get_by_text(secret) for secret in sorted(session.secrets))]
        data = await bounded_screenshot(session.page, self.max_artifact_bytes, ms, full_page=full_page, mask=mask)
        if data is None:
            return False  # over the size limit even of the viewport: the step goes on without it
        self.attempt.attachments.append(Attachment("screenshot", "image/png", data, step=self.label))
        return True

    async def _text(self, locator: Locator, attribute: str | None, ms: float) -> str | None:
        """The element's text or attribute, bounded in the page (see isolated.py)."""
        return await self.session.reader.text(locator, MAX_TEXT * _READ_FACTOR, attribute, ms)

    async def _extract(self, index: int, action: Extract) -> None:
        locator = self._locator(action.selector).first
        raw = await self._call(index, action, lambda ms: self._text(locator, action.attribute, ms))
        value = None if raw is None else " ".join(raw.split())[:MAX_TEXT]
        self.attempt.extracted.append((action, value))
        if action.secret and raw and value:
            # As used ({{name}} gets the collapsed value) and as the page shows it.
            found = {value, raw.strip()}
            self.attempt.secrets |= found
            self.session.secrets |= found
        if value is None:
            raise _Stop(StepError("extract_missing", f"{_name(index, action)}: the element has no {action.source}"))

    # -- assertions ----------------------------------------------------------------------------------------

    async def _assert(self, index: int, assertion: PageAssertion) -> None:
        """Looks again until the assertion holds (inverted: stops holding), or its time is up."""
        seconds = self._seconds(index, assertion)
        until = time.monotonic() + seconds
        while True:
            # A look reads elements it just counted: it waits only for one that went meanwhile, and never long.
            finding = await self._look(assertion, min(seconds, _LOOK_SECONDS) * 1000)
            if (finding.holds is not None and finding.holds != assertion.invert) or time.monotonic() >= until:
                break
            await asyncio.sleep(min(_POLL_SECONDS, max(0.0, until - time.monotonic())))
        result = judge(assertion, finding, _expected(assertion))
        self.attempt.judged.append(_numbered(result, index))
        if not result.passed:
            raise _Stop()

    async def _look(self, assertion: PageAssertion, ms: float) -> Finding:
        """What the page shows now; a page in the middle of navigating shows nothing to judge (not even
        inverted) until it settles."""
        try:
            return await self._find(assertion, ms)
        except PlaywrightTimeoutError:
            return Finding(None, note="the element did not answer in time")
        except PlaywrightError as exc:
            if self.session.page.is_closed() or _crashed(exc):
                raise
            return Finding(None, note=_first_line(exc))

    async def _find(self, assertion: PageAssertion, ms: float) -> Finding:
        page = self.session.page
        if isinstance(assertion, AssertUrl):
            return Finding(text_matches(assertion.operator, page.url, assertion.value), page.url)
        if isinstance(assertion, AssertTitle):
            title = await self.session.reader.title(MAX_TEXT)
            return Finding(text_matches(assertion.operator, title, assertion.value), title)
        locator = self._locator(assertion.selector)
        count = await locator.count()
        if isinstance(assertion, AssertCount):
            return Finding(compare(assertion.operator, count, assertion.value), count)
        if isinstance(assertion, AssertVisible | AssertHidden):
            visible = count > 0 and await locator.first.is_visible()
            shown = visible if isinstance(assertion, AssertVisible) else not visible
            return Finding(shown, shown)
        if count == 0:
            return Finding(False, None, "no element matches the selector")
        if isinstance(assertion, AssertText):
            text = " ".join((await self._text(locator.first, None, ms) or "").split())[:MAX_TEXT]
            return Finding(text_matches(assertion.operator, text, assertion.value), text)
        assert isinstance(assertion, AssertAttribute)
        value = await self.session.reader.text(locator.first, MAX_TEXT, assertion.name, ms)
        if assertion.operator == "exists" or value is None:
            return Finding(value is not None, value, "" if value is not None else "no such attribute")
        return Finding(text_matches(assertion.operator, value, assertion.value or ""), value)

    # -- what the step leaves ------------------------------------------------------------------------------

    async def _timings(self, since_ms: float, origin: float, cls_before: float, total: float) -> dict[str, Any]:
        navigation = await self.session.navigation(since_ms)
        vitals = self.session.vitals.latest
        fresh = vitals.origin >= since_ms  # the document was loaded in this step
        cls = vitals.cls if fresh else vitals.cls - (cls_before if vitals.origin == origin else 0.0)
        return {
            **navigation,
            "lcp": vitals.lcp if fresh else None,
            "cls": round(max(cls, 0.0), 4),
            "total": round(total * 1000, 1),
        }

    async def _evidence_of_failure(self, index: int) -> None:
        """A screenshot and the DOM as the failure left them (either may be missing: a page mid-navigation)."""
        page = self.session.page
        self.attempt.extra["failed_action"] = index
        with _unless_crashed(page):
            await self._screenshot(_COLLECT_SECONDS / 2 * 1000)
        with _unless_crashed(page):
            session = self.session
            dom = await session.reader.dom(session.masked, self.max_document_bytes + _SNAPSHOT_SLACK)
            # Redacted before the cut (a secret across it would leave its start); the run's later secrets after.
            dom = redact(dom, shown_forms(session.secrets))
            html = dom.encode()[: self.max_document_bytes]
            self.attempt.attachments.append(
                Attachment("dom_snapshot", "text/html; charset=utf-8", html, step=self.label)
            )

    def _record(self, timings: dict[str, Any], log: Any, failed_at: int | None) -> None:
        attempt, page = self.attempt, self.session.page
        attempt.timings = Timings(
            first_byte=None if timings["ttfb"] is None else timings["ttfb"] / 1000, total=timings["total"] / 1000
        )
        attempt.observation.elapsed_ms = timings["total"]
        attempt.location = without_userinfo(page.url)
        attempt.judged.extend(self._threshold(threshold, timings) for threshold in self.step.thresholds)
        if failed_at is not None and failed_at < len(self.actions):
            self.actions[failed_at]["ok"] = False
        attempt.extra.update(
            {
                "page_timings": {
                    ("cls" if metric == "cls" else f"{metric}_ms"): value for metric, value in timings.items()
                },
                "final_url": attempt.location,
                "actions": self.actions,
                "console_errors": log.console_errors,
                "console_error_count": log.console_error_count,
                "console_flooded": log.console_events >= MAX_CONSOLE_EVENTS,
                "failed_requests": log.failed_requests,
                "failed_request_count": log.failed_request_count,
            }
        )

    def _threshold(self, threshold: TimingThreshold, timings: dict[str, Any]) -> AssertionResult:
        value = timings[threshold.metric]
        expected = {"degraded": threshold.degraded, "failed": threshold.failed}
        if value is None:
            return judge(threshold, Finding(True, None, "not measured"), expected)
        limit = threshold.failed if threshold.failed is not None else float("inf")
        slow = threshold.degraded is not None and value > threshold.degraded
        return judge(threshold, Finding(value <= limit, value), expected, slow)


def _expected(assertion: PageAssertion) -> Any:
    value = getattr(assertion, "value", None)
    return True if value is None and assertion.operator == "is" else value


def _numbered(result: AssertionResult, index: int) -> AssertionResult:
    """The message names the action, as validation errors do."""
    return AssertionResult(
        result.assertion, result.passed, result.actual, result.expected, f"actions[{index}] {result.message}",
        result.degraded,
    )  # fmt: skip


def _name(index: int, action: Any) -> str:
    target = getattr(action, "selector", None) or getattr(action, "url", None)
    return f"actions[{index}] {action.action}" + (f" {target!r}" if target else "")


@contextlib.contextmanager
def _unless_crashed(page: Page) -> Iterator[None]:
    """Leave out what the page could not give (it navigated meanwhile); a crashed browser is still raised."""
    try:
        yield
    except PlaywrightError as exc:
        if page.is_closed() or _crashed(exc):
            raise


def _crashed(exc: PlaywrightError) -> bool:
    text = str(exc).lower()
    return "crash" in text or "has been closed" in text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:500]
