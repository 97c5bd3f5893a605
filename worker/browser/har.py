"""A HAR 1.2 log of a page's requests, built from what its DevTools session recorded (network.NetworkLog).

Request bodies are left out (they may carry what a visitor typed: the key-logging canaries, a form's values),
as are response bodies; Set-Cookie headers are kept, they are what the scan is about. Timings are not recorded
per request: each entry says when it started, and its timings are zero.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scanfleet import __version__
from scanfleet.worker.browser.network import Request

PAGE = "page_1"


def har_log(requests: list[Request], page_url: str, browser_version: str | None, opened: float) -> bytes:
    """The log as JSON bytes; `opened` is when the page was opened, on time.monotonic()'s clock."""
    now_wall, now_mono = datetime.now(UTC), time.monotonic()

    def wall(at: float) -> str:
        return (now_wall - timedelta(seconds=now_mono - at)).isoformat()

    log = {
        "version": "1.2",
        "creator": {"name": "scanfleet", "version": __version__},
        "browser": {"name": "Chromium", "version": browser_version or ""},
        "comment": "request and response bodies left out; per-request timings not recorded",
        "pages": [{"startedDateTime": wall(opened), "id": PAGE, "title": page_url, "pageTimings": {}}],
        "entries": [_entry(request, wall(request.started)) for request in requests],
    }
    return json.dumps({"log": log}, separators=(",", ":")).encode()


def _entry(request: Request, started: str) -> dict[str, Any]:
    query = [{"name": name, "value": value} for name, value in parse_qsl(urlsplit(request.url).query)]
    entry: dict[str, Any] = {
        "pageref": PAGE,
        "startedDateTime": started,
        "time": 0,
        "request": {
            "method": request.method, "url": request.url, "httpVersion": "", "cookies": [], "headers": [],
            "queryString": query, "headersSize": -1, "bodySize": -1,
        },
        "response": {
            "status": request.status or 0, "statusText": "", "httpVersion": "", "cookies": [],
            "headers": [{"name": "Set-Cookie", "value": value} for value in request.set_cookies],
            "content": {"size": 0, "mimeType": ""}, "redirectURL": request.redirected_to or "",
            "headersSize": -1, "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_resourceType": request.resource_type,
        "_initiator": {"type": request.initiator_type, "url": request.initiator_url},
    }  # fmt: skip
    if request.failure or request.blocked_reason:
        entry["_error"] = request.blocked_reason or request.failure
    return entry
