"""Each request's ids: X-Request-ID taken from the client when sane or made here, returned on the response (500s
included), bound to every log line the request writes and carried into the jobs it causes. Its span continues
the client's traceparent, if any."""

from __future__ import annotations

import logging
import re

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanfleet import logs, tracing
from scanfleet.api.errors import error_body

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
# UUIDs, ULIDs, hex and base64 ids, a proxy's "host:port/n": nothing that could forge a log field or a header.
_SANE = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")


def request_id(supplied: str | None) -> str:
    return supplied if supplied is not None and _SANE.fullmatch(supplied) else tracing.random_hex(32)


class RequestContext:
    """Pure ASGI (no task of its own): the ids it binds are those the app, its responses and the access log see."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = request_id(headers.get(HEADER))
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        parent = tracing.parse(headers.get("traceparent"))
        method = scope["method"]
        with logs.bind(request_id=rid), tracing.span(method, parent, "server", **{"scanfleet.request_id": rid}) as span:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                # Logged here, with the request's ids; answered here too, so that the 500 names its request id.
                log.exception("%s %s failed", method, scope["path"])
                if status is not None:
                    raise
                body = error_body("internal_error", f"an unexpected error; quote request id {rid} when reporting it")
                await JSONResponse(body, status_code=500)(scope, receive, send_with_id)
            finally:
                _finish(span, scope, status or 500)


def _finish(span: tracing.Span, scope: Scope, status: int) -> None:
    method = scope["method"]
    attributes: dict[str, str | int] = {"http.request.method": method, "http.response.status_code": status}
    route = getattr(scope.get("route"), "path", None)  # the template the router matched, never the raw path
    if route:
        attributes["http.route"] = route
    span.finish(f"{method} {route}" if route else method, error=status >= 500, **attributes)
