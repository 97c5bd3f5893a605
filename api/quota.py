"""RateLimit headers on every authenticated response, whatever produced it: the route's own response, a validation
error, a refusal (429 for a full queue included) or a 304. The caller's dependency leaves its decision's headers in
the request's state; they are added as the response starts."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STATE_KEY = "rate_limit_headers"


def remember(request: Request, headers: dict[str, str]) -> None:
    request.state.rate_limit_headers = headers


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = scope.get("state", {}).get(_STATE_KEY)
                if found:
                    headers = MutableHeaders(scope=message)
                    for name, value in found.items():
                        if name not in headers:
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
