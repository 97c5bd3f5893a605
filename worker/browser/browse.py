"""A browser scan of one page, from URL to Outcome: load it through the guarded proxy, let it settle, read what
its consent manager shows (a banner is never touched), type canaries, then collect what it did. Target failures
are results; a browser that crashed or hung is replaced and the scan fails with browser_crashed or browser_hung."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright._impl._api_structures import SecurityDetails  # the public API returns it but does not export it
from playwright.async_api import BrowserContext, Page, Response
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from scanfleet.http.fetch import FetchResult, Hop, TlsInfo
from scanfleet.model import Attachment, Evidence, Outcome, Severity, Status
from scanfleet.worker.browser import evidence as rows
from scanfleet.worker.browser.consent import read_consent
from scanfleet.worker.browser.har import har_log
from scanfleet.worker.browser.keylog import TypedField, type_canaries
from scanfleet.worker.browser.network import NetworkLog
from scanfleet.worker.browser.profile import COOKIE_POLICY
from scanfleet.worker.browser.proxy import GuardedProxy
from scanfleet.worker.browser.runtime import BrowserError, BrowserRuntime
from scanfleet.worker.browser.screenshot import bounded_screenshot
from scanfleet.worker.browser.static import static_evidence
from scanfleet.worker.privacy.consent import ConsentSignals
from scanfleet.worker.privacy.rules import evaluate
from scanfleet.worker.scan import document_attachment, domains_seen, failed_outcome

_INSTRUMENT = (Path(__file__).parent / "instrument.js").read_text()
_KEYLOG_WAIT_SECONDS = 1.0  # after typing, for a logger's batch to leave
_MAX_EVENTS = 10_000  # instrumentation reports kept per page

NOT_OBSERVED = (
    "consent banner choices: what accepting or refusing would change (the page is observed before any interaction "
    "with a banner, which is never clicked)",
    "pages other than the first, and what scrolling, clicking or logging in would load",
    "requests of web workers and service workers are guarded and counted as connections, not listed as requests",
)

_STORAGE = """async () => {
  const keys = (area) => { try { return Object.keys(area) } catch (e) { return [] } };
  const found = [];
  for (const [area, store] of [["local_storage", "localStorage"], ["session_storage", "sessionStorage"]]) {
    const names = keys(window[store]);
    if (names.length) found.push({area, names});
  }
  try {
    const databases = await indexedDB.databases();
    if (databases.length) found.push({area: "indexed_db", names: databases.map((d) => d.name)});
  } catch (e) {}
  return {origin: location.origin, found};
}"""
_DOM = "(limit) => { const h = document.documentElement ? document.documentElement.outerHTML : ''; return [h.slice(0, limit), h.length > limit]; }"  # noqa: E501
_CHARSET = re.compile(r"charset=([\w.:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class BrowseLimits:
    page_seconds: float = 30.0  # load, settle and typing; reading the page afterwards has its own bound
    settle_seconds: float = 2.5  # after the load event, for tag managers to inject their tags
    max_requests: int = 2000  # per page; past it the browser blocks the page's requests
    max_bytes: int = 64 * 1024 * 1024  # through the proxy, both ways, per page
    max_document_bytes: int = 5 * 1024 * 1024  # of the main document and of the rendered DOM analysed
    connect_seconds: float = 5.0
    collect_seconds: float = 10.0  # reading the page once its time is up; a browser slower than this is hung
    max_artifact_bytes: int = 10 * 1024 * 1024  # a screenshot larger than this is taken of the viewport only
    saved_document_bytes: int = 2 * 1024 * 1024  # of the main document, kept as an artifact


async def browse(runtime: BrowserRuntime, url: str, limits: BrowseLimits) -> Outcome:
    """Scan `url` in a fresh context of `runtime`'s browser. Never raises for the target's or browser's faults."""
    if urlsplit(url).scheme not in ("http", "https"):
        return failed_outcome(Outcome(Status.FAILED), "invalid_url", "only http and https URLs are browsed")
    async with runtime.proxy(limits.max_requests, limits.max_bytes, limits.connect_seconds) as proxy:
        try:
            async with runtime.context(proxy) as (context, instance):
                visit = _Visit(context, proxy, url, limits)
                try:
                    return await visit.run()
                except (PlaywrightError, TimeoutError) as exc:
                    raise runtime.failure(instance, exc) from exc
        except BrowserError as exc:
            return failed_outcome(Outcome(Status.FAILED), exc.code, exc.message)


@dataclass
class _Visit:
    context: BrowserContext
    proxy: GuardedProxy
    url: str
    limits: BrowseLimits
    events: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    static_counts: dict[str, Any] = field(default_factory=dict)

    async def run(self) -> Outcome:
        started = self.timings["opened"] = time.monotonic()
        deadline = started + self.limits.page_seconds
        page, network = await self._open()
        response, failure = await self._navigate(page, deadline)
        if failure is not None:
            return failed_outcome(Outcome(Status.FAILED, final_url=self.url), *failure)
        assert response is not None
        loaded = await self._load(page, deadline)
        self.timings["loaded"] = time.monotonic() - started
        await asyncio.sleep(max(0.0, min(self.limits.settle_seconds, deadline - time.monotonic())))
        async with asyncio.timeout(self.limits.collect_seconds):
            consent = await read_consent(page)  # before typing: the page as a visitor first sees it
        typed, typing_started = await self._type(page, deadline)
        self.timings["observed"] = time.monotonic() - started
        async with asyncio.timeout(self.limits.collect_seconds):
            outcome = await self._collect(page, network, response, consent, typed, typing_started)
        outcome.evidence.append(self._coverage(outcome, network, loaded, typed, started))
        outcome.issues = evaluate(outcome.evidence)
        return outcome

    async def _open(self) -> tuple[Page, NetworkLog]:
        binding = f"__sf{secrets.token_hex(6)}"
        await self.context.expose_binding(binding, self._report)
        await self.context.add_init_script(script=_INSTRUMENT.replace("__BINDING__", binding))
        self.context.set_default_timeout(self.limits.collect_seconds * 1000)
        page = await self.context.new_page()
        network = NetworkLog(await self.context.new_cdp_session(page), self.limits.max_requests)
        await network.start()
        return page, network

    def _report(self, _source: object, payload: str) -> None:
        if len(self.events) < _MAX_EVENTS:
            self.events.append(json.loads(payload))

    async def _navigate(self, page: Page, deadline: float) -> tuple[Response | None, tuple[str, str] | None]:
        try:
            response = await page.goto(self.url, wait_until="commit", timeout=_ms_left(deadline))
        except PlaywrightTimeoutError:
            return None, ("timeout", f"the page did not answer within {self.limits.page_seconds:g} s")
        except PlaywrightError as exc:
            if page.is_closed() or "crash" in str(exc).lower():
                raise
            return None, self._navigation_failure(str(exc))
        if response is None:
            return None, ("protocol_error", "the navigation produced no response")
        refused = self._refused(response.url)
        if refused is not None:
            return None, refused
        return response, None

    def _refused(self, url: str) -> tuple[str, str] | None:
        """The proxy's verdict on the connection for `url`, if it refused it."""
        parts = urlsplit(url)
        connection = self.proxy.connection_to(parts.hostname or "", parts.port or _default_port(parts.scheme))
        if connection is None or connection.outcome in ("connected", "pending"):
            return None
        messages = {
            "blocked_address": f"{parts.hostname} resolves to an address that is not public",
            "limit": "the page's request or byte budget ran out",
        }
        return connection.outcome, messages.get(connection.outcome, f"{parts.hostname}: {connection.outcome}")

    def _navigation_failure(self, text: str) -> tuple[str, str]:
        error = re.search(r"net::(ERR_[A-Z_]+)", text)
        name = error[1] if error else "ERR_FAILED"
        for connection in reversed(self.proxy.connections):
            if connection.outcome not in ("connected", "pending"):
                # The proxy said why (a blocked address, no such name): the most specific answer there is.
                return connection.outcome, f"{connection.host}: {connection.outcome} ({name})"
        if name.startswith(("ERR_CERT_", "ERR_SSL_")):
            return "tls_error", name
        if name == "ERR_TIMED_OUT":
            return "timeout", name
        if name == "ERR_TOO_MANY_REDIRECTS":
            return "too_many_redirects", name
        if name in ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_CONNECTION_CLOSED", "ERR_EMPTY_RESPONSE"):
            return "connect_error", name
        return "protocol_error", name

    async def _load(self, page: Page, deadline: float) -> bool:
        try:
            await page.wait_for_load_state("load", timeout=_ms_left(deadline))
        except PlaywrightTimeoutError:
            return False  # a page that never finishes loading is observed for its whole budget
        return True

    async def _type(self, page: Page, deadline: float) -> tuple[list[TypedField], float]:
        started = time.monotonic()
        try:
            async with asyncio.timeout(max(0.0, deadline - started)):
                typed = await type_canaries(page)
                await asyncio.sleep(_KEYLOG_WAIT_SECONDS if typed else 0)
        except (TimeoutError, PlaywrightTimeoutError):
            return [], started  # out of time: no key-logging verdict, and the coverage row says none was typed
        return typed, started

    async def _collect(
        self,
        page: Page,
        network: NetworkLog,
        response: Response,
        consent: ConsentSignals,
        typed: list[TypedField],
        typing_started: float,
    ) -> Outcome:
        result = await self._document(response)
        dom, dom_truncated = await page.main_frame.evaluate(_DOM, self.limits.max_document_bytes)
        await network.fill_post_data(typing_started)
        jar = await self.context.cookies()
        storage = await _storage(page)
        consent = replace(consent, requests=[request.url for request in network.requests])
        evidence, static_counts = static_evidence(result, dom if result.is_html else None, datetime.now(UTC), consent)
        self.timings["dom_bytes"], self.timings["dom_truncated"] = len(dom), dom_truncated
        self.static_counts = static_counts
        setters = rows.header_setters(network.requests) + rows.script_setters(
            event for event in self.events if event["type"] == "cookie_write"
        )
        fingerprints = [event for event in self.events if event["type"] == "fingerprinting"]
        recorders = [event for event in self.events if event["type"] == "session_recording"]
        requests = rows.request_rows(network.requests, result.final.url, self.proxy, network.main_frame)
        evidence += [
            *requests,
            *rows.runtime_tracker_rows(evidence, requests, result.final.url),
            *rows.cookie_rows(jar, setters, result.final.url),  # type: ignore[arg-type]
            *rows.storage_rows(storage, result.final.url),
            *rows.fingerprinting_rows(fingerprints, result.final.url),
            *rows.key_logging_rows(typed, network.requests, network.frames_sent, typing_started, result.final.url),
            *rows.session_recording_rows(recorders, result.final.url),
        ]
        browser = self.context.browser.version if self.context.browser else None
        attachments = [
            *await self._screenshot(page),
            Attachment("har", "application/json", har_log(network.requests, self.url, browser, self.timings["opened"])),
            *document_attachment(result, self.limits.saved_document_bytes),
        ]
        outcome = Outcome(
            Status.SUCCEEDED, final_url=result.final.url, http_status=result.final.status, evidence=evidence,
            domains=domains_seen(evidence), attachments=attachments,
        )  # fmt: skip
        if result.final.status >= 400:
            return failed_outcome(outcome, "http_error", f"the final response has status {result.final.status}")
        if not result.is_html:
            return failed_outcome(
                outcome, "not_html", f"the final response is {result.content_type or 'untyped'}, not HTML"
            )
        return outcome

    async def _screenshot(self, page: Page) -> list[Attachment]:
        """The whole page as a PNG (cut at a maximum height); the viewport alone when the whole is over the size
        limit; none when that is too, or the page cannot be captured (a scan does not fail for its picture)."""
        try:
            shot = await bounded_screenshot(
                page, self.limits.max_artifact_bytes, self.limits.collect_seconds * 500, full_page=True
            )
        except PlaywrightError:
            if page.is_closed():
                raise
            return []
        return [] if shot is None else [Attachment("screenshot", "image/png", shot)]

    async def _document(self, response: Response) -> FetchResult:
        """The main document's redirect chain and body, as the http engine's fetcher would have recorded them."""
        chain = [response.request]
        while (earlier := chain[0].redirected_from) is not None:
            chain.insert(0, earlier)
        hops = []
        for request in chain:
            answer = response if request is response.request else await request.response()
            if answer is not None:
                hops.append(await self._hop(answer))
        try:
            body = await response.body()
        except PlaywrightError:
            body = b""  # e.g. a page that navigated away before its body could be read
        charset = _CHARSET.search(hops[-1].headers.get("content-type", ""))
        return FetchResult(
            hops=hops,
            body=body[: self.limits.max_document_bytes],
            truncated=len(body) > self.limits.max_document_bytes,
            encoding=charset[1] if charset else None,
        )

    async def _hop(self, response: Response) -> Hop:
        parts = urlsplit(response.url)
        connection = self.proxy.connection_to(parts.hostname or "", parts.port or _default_port(parts.scheme))
        headers = httpx.Headers([(h["name"], h["value"]) for h in await response.headers_array()])
        timing = response.request.timing
        return Hop(
            url=response.url,
            status=response.status,
            headers=headers,
            address=connection.address if connection else None,
            elapsed_seconds=max(0.0, timing.get("responseStart", 0.0)) / 1000,
            tls=_tls(await response.security_details()),
        )

    def _coverage(
        self, outcome: Outcome, network: NetworkLog, loaded: bool, typed: list[TypedField], started: float
    ) -> Evidence:
        refused = [c for c in self.proxy.connections if c.outcome not in ("connected", "pending")]
        limits = sorted(
            {*([self.proxy.limit_hit] if self.proxy.limit_hit else []), *(["requests"] if network.limit_hit else [])}
        )
        return Evidence(
            kind="coverage",
            severity=Severity.INFO,
            title="Rendered in a browser: what was observed, and for how long",
            details={
                **self.static_counts,
                "engine": "browser",
                "browser": self.context.browser.version if self.context.browser else None,
                "cookie_policy": COOKIE_POLICY,
                "load_event": loaded,
                "settle_seconds": self.limits.settle_seconds,
                "loaded_after_seconds": round(self.timings["loaded"], 3),
                "observed_seconds": round(self.timings["observed"], 3),
                "total_seconds": round(time.monotonic() - started, 3),
                "requests": network.count,
                "requests_listed": len(network.requests),
                "connections": self.proxy.connection_count,
                "connections_refused": len(refused),
                "bytes_transferred": self.proxy.bytes,
                "dom_bytes": self.timings["dom_bytes"],
                "dom_truncated": bool(self.timings["dom_truncated"]),
                "limits_hit": sorted(set(limits)),
                "fields_typed": len(typed),
                # Every row was observed before any interaction with a consent banner: none is ever clicked.
                "consent_interaction": "none",
                "not_observed": list(NOT_OBSERVED),
            },
            location=outcome.final_url,
        )


async def _storage(page: Page) -> list[dict[str, Any]]:
    """Storage names per origin, from every frame that answers (one reading per origin and area)."""
    found: dict[tuple[str, str], set[str]] = {}
    for frame in page.frames:
        try:
            answer = await frame.evaluate(_STORAGE)
        except PlaywrightError:
            continue  # a frame that navigated or went away meanwhile
        if not answer["origin"].startswith("http"):
            continue
        for entry in answer["found"]:
            found.setdefault((answer["origin"], entry["area"]), set()).update(entry["names"])
    return [{"origin": origin, "area": area, "names": sorted(names)} for (origin, area), names in found.items()]


def _tls(details: SecurityDetails | None) -> TlsInfo | None:
    if not details:
        return None
    valid_from, valid_to = details.get("validFrom"), details.get("validTo")
    subject, issuer = details.get("subjectName"), details.get("issuer")
    return TlsInfo(
        protocol=details.get("protocol"),
        cipher=None,
        subject={"commonName": subject} if subject else {},
        issuer={"commonName": issuer} if issuer else {},
        subject_alt_names=[],
        not_before=datetime.fromtimestamp(valid_from, UTC) if valid_from else None,
        not_after=datetime.fromtimestamp(valid_to, UTC) if valid_to else None,
    )


def _ms_left(deadline: float) -> float:
    return max(1.0, (deadline - time.monotonic()) * 1000)


def _default_port(scheme: str) -> int:
    return 443 if scheme in ("https", "wss") else 80
