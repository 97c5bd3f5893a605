"""Evidence rows for what only a browser sees: requests, the cookie jar, storage, fingerprinting, key logging,
session recording, and the trackers among the requests that the document's static analysis did not report.

Kinds are stable and new (`request`, `browser_cookie`, `storage`, `fingerprinting`, `key_logging`,
`session_recording`), so the static analysis's kinds and rules keep their meaning; trackers seen only at run time
are `tracker` rows like the static ones, so the tracker rules read them too. Values (cookie values, storage
values, typed text) are never recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scanfleet.model import Evidence, Severity
from scanfleet.worker.browser.keylog import TypedField, find_canary
from scanfleet.worker.browser.network import Request, WebSocketFrame
from scanfleet.worker.browser.proxy import GuardedProxy
from scanfleet.worker.privacy.cookies import SetCookie, cookie_severity, parse_set_cookie
from scanfleet.worker.privacy.domains import host_of, registrable_domain
from scanfleet.worker.privacy.third_parties import host_category
from scanfleet.worker.privacy.trackers import host_row, is_blocklisted
from scanfleet.worker.privacy.vendors import Category, vendor_for

BROWSER_EVIDENCE_KINDS = ("request", "browser_cookie", "storage", "fingerprinting", "key_logging", "session_recording")
MAX_CHAIN = 10
MAX_NAMES = 50  # storage keys listed per origin and area
# Vendor categories that make a request a tracker on their own, blocklisted or not; any other vendor's request
# (a tag manager's, a chat widget's) is one only when the blocklists say so.
_TRACKING_VENDORS = frozenset({Category.ANALYTICS, Category.ADVERTISING, Category.SESSION_RECORDING})

# DevTools' resource types as EasyList's request types (what braveblock judges).
_BLOCKER_TYPES = {
    "Stylesheet": "stylesheet",
    "Image": "image",
    "Media": "media",
    "Font": "font",
    "Script": "script",
    "XHR": "xmlhttprequest",
    "Fetch": "xmlhttprequest",
    "WebSocket": "websocket",
    "Ping": "ping",
    "CSPViolationReport": "csp_report",
}


@dataclass(frozen=True)
class Party:
    site: str  # the page's registrable domain

    def of(self, host: str) -> str:
        return "first" if registrable_domain(host) == self.site else "third"


def request_rows(requests: list[Request], page_url: str, proxy: GuardedProxy, main_frame: str | None) -> list[Evidence]:
    """One "request" row per request the page made, in the order it made them."""
    party = Party(registrable_domain(host_of(page_url) or ""))
    loaded_by = {request.url: request for request in reversed(requests)}  # the first request of each URL
    rows = []
    for request in requests:
        host = host_of(request.url)
        if host is None:
            continue  # data:, blob: and the like never reach the network
        blocker_type = _blocker_type(request, main_frame)
        blocklisted = is_blocklisted(request.url, page_url, blocker_type)
        vendor = vendor_for(host) if party.of(host) == "third" else None
        category = vendor.category.value if vendor else Category.UNCLASSIFIED.value if blocklisted else None
        refused = proxy.refusal(request.url, failed=request.failure is not None)
        rows.append(
            Evidence(
                kind="request",
                severity=Severity.MEDIUM if category and party.of(host) == "third" else Severity.INFO,
                title=f"{request.resource_type} request to {host}",
                details={
                    "url": request.url,
                    "method": request.method,
                    "host": host,
                    "registrable_domain": registrable_domain(host),
                    "party": party.of(host),
                    "resource_type": request.resource_type,
                    "request_type": blocker_type,
                    "initiator": {"type": request.initiator_type, "url": request.initiator_url},
                    "initiator_chain": _chain(request, loaded_by),
                    "blocklisted": blocklisted,
                    "vendor": vendor.name if vendor else None,
                    "category": category or host_category(host),
                    "status": request.status,
                    "failed": request.failure,
                    "blocked": refused or request.blocked_reason,
                    "redirected_to": request.redirected_to,
                },
                location=page_url,
            )
        )
    return rows


def runtime_tracker_rows(static: Sequence[Evidence], requests: Sequence[Evidence], page_url: str) -> list[Evidence]:
    """One "tracker" row per (vendor, host) of the third-party `requests` (request rows) that are blocklisted or
    go to an analytics, advertising or session-recording vendor, unless the static analysis of the document and
    DOM (`static`) reported that vendor and host already; sorted by host. What scripts send at run time (a GA4
    collect hit, the Meta pixel's /tr image, a recorder's uploads) is seen nowhere else."""
    reported = {(row.details["vendor"], row.details["host"]) for row in static if row.kind == "tracker"}
    seen: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for request in (row.details for row in requests):
        vendor_tracks = request["vendor"] is not None and request["category"] in _TRACKING_VENDORS
        key = (request["vendor"], request["host"])
        if request["party"] == "third" and (request["blocklisted"] or vendor_tracks) and key not in reported:
            seen.setdefault(key, []).append(request)
    return [
        host_row(
            "network",
            host,
            [(request["url"], request["request_type"]) for request in found],
            any(request["blocklisted"] for request in found),
            page_url,
            f"{host}, requested at run time",
            observed="request",
            request=found[0]["url"],
        )
        for (_, host), found in sorted(seen.items(), key=lambda item: (item[0][1], item[0][0] or ""))
    ]


def _blocker_type(request: Request, main_frame: str | None) -> str:
    if request.resource_type == "Document":
        return "document" if request.frame_id == main_frame else "subdocument"
    return _BLOCKER_TYPES.get(request.resource_type, "other")


def _chain(request: Request, loaded_by: dict[str, Request]) -> list[str]:
    """The scripts and documents that led to this request, nearest first: analytics.js ← gtm.js ← the page."""
    chain: list[str] = []
    current: Request | None = request
    while current is not None and current.initiator_url and len(chain) < MAX_CHAIN:
        if current.initiator_url in chain:
            break
        chain.append(current.initiator_url)
        parent = loaded_by.get(current.initiator_url)
        current = parent if parent is not None and parent is not current else None
    return chain


@dataclass(frozen=True)
class CookieSetter:
    via: str  # "header" or "script"
    url: str  # the response that set it, or the script that wrote it
    cookie: SetCookie


def header_setters(requests: Iterable[Request]) -> list[CookieSetter]:
    return [
        CookieSetter("header", request.url, parsed)
        for request in requests
        for header in request.set_cookies
        if (parsed := parse_set_cookie(header, request.url)) is not None
    ]


def script_setters(writes: Iterable[dict[str, Any]]) -> list[CookieSetter]:
    setters = []
    for write in writes:
        # Parsed as the browser parses the assignment, with a stand-in value: names and attributes only.
        parsed = parse_set_cookie(f"{write['name']}=x; {write['attributes']}", str(write["page"]))
        if parsed is not None:
            setters.append(CookieSetter("script", str(write.get("script") or write["page"]), parsed))
    return setters


def cookie_rows(jar: list[dict[str, Any]], setters: list[CookieSetter], page_url: str) -> list[Evidence]:
    """One "browser_cookie" row per cookie in the jar after the page settled, sorted by domain and name."""
    party = Party(registrable_domain(host_of(page_url) or ""))
    over_https = urlsplit(page_url).scheme == "https"
    now = datetime.now(UTC)
    rows = []
    for entry in sorted(jar, key=lambda c: (c["domain"].lstrip("."), c["name"], c["path"])):
        domain = entry["domain"].lstrip(".")
        expires = entry.get("expires", -1)
        expiry = datetime.fromtimestamp(expires, UTC) if expires and expires > 0 else None
        same_site = entry.get("sameSite")
        cookie = SetCookie(
            name=entry["name"], domain=domain, host_only=not entry["domain"].startswith("."), path=entry["path"],
            expires=expiry, max_age=None, secure=entry.get("secure", False), http_only=entry.get("httpOnly", False),
            same_site=same_site,
        )  # fmt: skip
        third_party = party.of(domain) == "third"
        setter = _setter_of(cookie, setters)
        rows.append(
            Evidence(
                kind="browser_cookie",
                severity=cookie_severity(cookie, over_https=over_https, third_party=third_party),
                title=f"Cookie {cookie.name or '(nameless)'} for {domain} in the browser's jar",
                details={
                    "name": cookie.name,
                    "domain": domain,
                    "host_only": cookie.host_only,
                    "path": cookie.path,
                    "expires": expiry.isoformat() if expiry else None,
                    "lifetime_days": round((expiry - now).total_seconds() / 86400, 1) if expiry else None,
                    "session": expiry is None,
                    "secure": cookie.secure,
                    "http_only": cookie.http_only,
                    "same_site": same_site,
                    "registrable_domain": registrable_domain(domain),
                    "party": "third" if third_party else "first",
                    "set_by": setter.via if setter else "unknown",
                    "setter": setter.url if setter else None,
                },
                location=page_url,
            )
        )
    return rows


def _setter_of(cookie: SetCookie, setters: list[CookieSetter]) -> CookieSetter | None:
    """The last write of this cookie (name, domain, path) the page was seen making."""
    found = None
    for setter in setters:
        written = setter.cookie
        if (written.name, written.domain, written.path) == (cookie.name, cookie.domain, cookie.path):
            found = setter
    return found


def storage_rows(found: list[dict[str, Any]], page_url: str) -> list[Evidence]:
    """One "storage" row per origin and area (local_storage, session_storage, indexed_db) holding anything."""
    party = Party(registrable_domain(host_of(page_url) or ""))
    rows = []
    for entry in sorted(found, key=lambda e: (e["origin"], e["area"])):
        host = host_of(entry["origin"]) or ""
        names = sorted(entry["names"])
        rows.append(
            Evidence(
                kind="storage",
                severity=Severity.LOW if party.of(host) == "third" else Severity.INFO,
                title=f"{entry['area']} of {entry['origin']}: {len(names)} entries",
                details={
                    "origin": entry["origin"],
                    "area": entry["area"],
                    "names": names[:MAX_NAMES],
                    "count": len(names),
                    "registrable_domain": registrable_domain(host),
                    "party": party.of(host),
                },
                location=page_url,
            )
        )
    return rows


def fingerprinting_rows(events: list[dict[str, Any]], page_url: str) -> list[Evidence]:
    """One "fingerprinting" row per technique and calling script, with the APIs it used."""
    party = Party(registrable_domain(host_of(page_url) or ""))
    grouped: dict[tuple[str, str | None], dict[str, Any]] = {}
    for event in events:
        key = (event["technique"], event.get("script"))
        entry = grouped.setdefault(key, {"apis": [], "frames": [], "properties": []})
        entry["apis"] = sorted({*entry["apis"], event["api"]})
        entry["frames"] = sorted({*entry["frames"], event["page"]})
        entry["properties"] = sorted({*entry["properties"], *event.get("properties", [])})
    rows = []
    for (technique, script), entry in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        host = host_of(script or "")
        vendor = vendor_for(host) if host else None
        rows.append(
            Evidence(
                kind="fingerprinting",
                severity=Severity.MEDIUM,
                title=f"Fingerprinting ({technique}) by {script or 'an unknown script'}",
                details={
                    "technique": technique,
                    "script": script,
                    "host": host,
                    "registrable_domain": registrable_domain(host) if host else None,
                    "party": party.of(host) if host else None,
                    "vendor": vendor.name if vendor else None,
                    "apis": entry["apis"],
                    "properties": entry["properties"],
                    "frames": entry["frames"],
                },
                location=page_url,
            )
        )
    return rows


def session_recording_rows(events: list[dict[str, Any]], page_url: str) -> list[Evidence]:
    """One "session_recording" row per script that watched the whole document's changes and listened to the
    visitor's pointer and keys page-wide (what session recorders do), sorted by script."""
    party = Party(registrable_domain(host_of(page_url) or ""))
    first: dict[str, dict[str, Any]] = {}
    for event in events:
        first.setdefault(event["script"], event)  # a page that navigated reports again
    rows = []
    for event in sorted(first.values(), key=lambda e: e["script"]):
        host = host_of(event["script"]) or ""
        vendor = vendor_for(host) if host else None
        rows.append(
            Evidence(
                kind="session_recording",
                severity=Severity.HIGH if party.of(host) == "third" else Severity.MEDIUM,
                title=f"Session-recorder behaviour by {event['script']}",
                details={
                    "script": event["script"],
                    "host": host or None,
                    "registrable_domain": registrable_domain(host) if host else None,
                    "party": party.of(host) if host else None,
                    "vendor": vendor.name if vendor else None,
                    "listeners": event["listeners"],
                    "frame": event["page"],
                },
                location=page_url,
            )
        )
    return rows


def key_logging_rows(
    fields: list[TypedField],
    requests: list[Request],
    frames: list[WebSocketFrame],
    since: float,
    page_url: str,
) -> list[Evidence]:
    """One "key_logging" row per typed field and third-party host that received it before any submit."""
    party = Party(registrable_domain(host_of(page_url) or ""))
    sent = [
        (r.url, r.resource_type, r.url + "\n" + r.post_data.decode("latin-1")) for r in requests if r.started >= since
    ]
    sent += [(f.url, "WebSocket", f.payload) for f in frames if f.sent_at >= since]
    rows = []
    for field in fields:
        leaks: dict[str, dict[str, Any]] = {}
        for url, resource_type, text in sent:
            host = host_of(url)
            if host is None or party.of(host) == "first" or not (encodings := find_canary(field, text)):
                continue
            leak = leaks.setdefault(host, {"urls": [], "encodings": set(), "resource_types": set()})
            if url not in leak["urls"] and len(leak["urls"]) < 5:
                leak["urls"].append(url)
            leak["encodings"].update(encodings)
            leak["resource_types"].add(resource_type)
        for host, leak in sorted(leaks.items()):
            vendor = vendor_for(host)
            rows.append(
                Evidence(
                    kind="key_logging",
                    severity=Severity.HIGH,
                    title=f"Typed {field.kind} sent to {host} before submitting",
                    details={
                        "field": field.selector,
                        "field_kind": field.kind,
                        "frame": field.frame_url,
                        "host": host,
                        "registrable_domain": registrable_domain(host),
                        "vendor": vendor.name if vendor else None,
                        "encodings": sorted(leak["encodings"]),
                        "resource_types": sorted(leak["resource_types"]),
                        "urls": leak["urls"],
                    },
                    location=page_url,
                )
            )
    return rows
