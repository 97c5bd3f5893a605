"""Every request of one page, as the page's DevTools session reports it: type, initiator, outcome, body.

Cross-site frames run in the page's renderer (see profile.SWITCHES), so this one session sees their requests
too. Past the page's request budget everything further is blocked and only counted.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError

MAX_POST_BYTES = 64 * 1024  # of each request body kept for the key-logging search
MAX_URL_CHARS = 4096


@dataclass
class Request:
    id: str
    url: str
    method: str
    resource_type: str  # DevTools' name: Document, Script, Image, XHR, Fetch, Ping, WebSocket, …
    frame_id: str | None
    initiator_type: str  # parser, script, preload, redirect, other, …
    initiator_url: str | None  # the script (top of its stack) or document that caused the request
    started: float  # time.monotonic()
    post_data: bytes = b""
    status: int | None = None
    failure: str | None = None  # net::ERR_… as Chromium names it
    blocked_reason: str | None = None
    redirected_to: str | None = None
    set_cookies: list[str] = field(default_factory=list)


@dataclass
class WebSocketFrame:
    url: str
    payload: str
    sent_at: float


class NetworkLog:
    def __init__(self, session: CDPSession, max_requests: int) -> None:
        self._session = session
        self.max_requests = max_requests
        self.requests: list[Request] = []
        self.count = 0  # requests the page started, itemised or not
        self.limit_hit = False
        self._by_id: dict[str, Request] = {}
        self._sockets: dict[str, str] = {}  # WebSocket request id → URL
        self.frames_sent: list[WebSocketFrame] = []
        self._pending_cookies: dict[str, list[str]] = {}  # ExtraInfo can come before the response
        self._blocking: asyncio.Future[Any] | None = None
        self.main_frame: str | None = None

    async def start(self) -> None:
        session = self._session
        session.on("Network.requestWillBeSent", self._will_be_sent)
        session.on("Network.responseReceived", self._response)
        session.on("Network.responseReceivedExtraInfo", self._extra_info)
        session.on("Network.loadingFailed", self._failed)
        session.on("Network.webSocketCreated", self._socket)
        session.on("Network.webSocketFrameSent", self._frame_sent)
        await session.send("Network.enable", {"maxPostDataSize": MAX_POST_BYTES})
        tree = await session.send("Page.getFrameTree")
        self.main_frame = tree["frameTree"]["frame"]["id"]

    def _will_be_sent(self, event: dict[str, Any]) -> None:
        request_id = event["requestId"]
        earlier = self._by_id.get(request_id)
        if earlier is not None and "redirectResponse" in event:
            # The same id goes on to the next hop: the hop that redirected is a request of its own.
            earlier.status = event["redirectResponse"].get("status")
            earlier.redirected_to = event["request"]["url"]
        self.count += 1
        if len(self.requests) >= self.max_requests:
            self._over_budget()
            return
        request = self._request(event, redirected=earlier is not None)
        self.requests.append(request)
        self._by_id[request_id] = request
        if cookies := self._pending_cookies.pop(request_id, None):
            request.set_cookies.extend(cookies)

    def _request(self, event: dict[str, Any], *, redirected: bool) -> Request:
        details = event["request"]
        initiator = event.get("initiator") or {}
        return Request(
            id=event["requestId"],
            url=details["url"][:MAX_URL_CHARS],
            method=details.get("method", "GET"),
            resource_type=event.get("type") or "Other",
            frame_id=event.get("frameId"),
            initiator_type="redirect" if redirected else initiator.get("type", "other"),
            initiator_url=_initiator_url(initiator),
            started=time.monotonic(),
            post_data=_post_data(details),
        )

    def _over_budget(self) -> None:
        if not self.limit_hit:
            self.limit_hit = True
            # Blocked inside the browser from now on: the page's later requests fail at once.
            self._blocking = asyncio.ensure_future(self._session.send("Network.setBlockedURLs", {"urls": ["*"]}))

    def _response(self, event: dict[str, Any]) -> None:
        if (request := self._by_id.get(event["requestId"])) is not None:
            request.status = event["response"].get("status")

    def _extra_info(self, event: dict[str, Any]) -> None:
        headers = event.get("headers") or {}
        cookies = [
            line for name, value in headers.items() if name.lower() == "set-cookie" for line in value.split("\n")
        ]
        if not cookies:
            return
        request = self._by_id.get(event["requestId"])
        if request is None:
            self._pending_cookies.setdefault(event["requestId"], []).extend(cookies)
        else:
            request.set_cookies.extend(cookies)

    def _failed(self, event: dict[str, Any]) -> None:
        if (request := self._by_id.get(event["requestId"])) is not None:
            request.failure = event.get("errorText") or "failed"
            request.blocked_reason = event.get("blockedReason") or event.get("corsErrorStatus", {}).get("corsError")

    def _socket(self, event: dict[str, Any]) -> None:
        self._sockets[event["requestId"]] = event["url"]

    def _frame_sent(self, event: dict[str, Any]) -> None:
        url = self._sockets.get(event["requestId"])
        payload = (event.get("response") or {}).get("payloadData", "")
        if url is not None and len(self.frames_sent) < self.max_requests:
            self.frames_sent.append(WebSocketFrame(url, payload[:MAX_POST_BYTES], time.monotonic()))

    async def fill_post_data(self, since: float) -> None:
        """Bodies DevTools left out of the event (large, or streamed), for requests started after `since`."""
        for request in self.requests:
            if request.started < since or request.post_data or request.method in ("GET", "HEAD"):
                continue
            try:
                answer = await self._session.send("Network.getRequestPostData", {"requestId": request.id})
            except PlaywrightError:
                continue  # no body, or the request is gone
            request.post_data = answer.get("postData", "").encode("utf-8", "surrogateescape")[:MAX_POST_BYTES]


def _initiator_url(initiator: dict[str, Any]) -> str | None:
    stack = initiator.get("stack")
    while stack:
        for frame in stack.get("callFrames", []):
            if frame.get("url"):
                return str(frame["url"])
        stack = stack.get("parent")
    return initiator.get("url")


def _post_data(details: dict[str, Any]) -> bytes:
    entries = details.get("postDataEntries") or []
    if entries:
        chunks = [base64.b64decode(entry.get("bytes", "")) for entry in entries]
        return b"".join(chunks)[:MAX_POST_BYTES]
    return str(details.get("postData", "")).encode("utf-8", "surrogateescape")[:MAX_POST_BYTES]
