"""What every request passes through once, in one layer rather than one each (a layer costs a call per request
and per message of its answer):

- its ids: X-Request-ID taken from the client when sane or made here, returned on the response (500s included),
  bound to every log line the request writes and carried into the jobs it causes; its span continues the client's
  traceparent, if any;
- its metrics: the answer's route template, method, status and time;
- the headers of the rate-limit decision it was answered under (`ratelimit`);
- its access line, in uvicorn's words, with the request's ids: probes and scrapes (`NOT_LOGGED`), which come every
  few seconds to every process, are counted in the metrics but not logged;
- the refusals made before the app runs: a body over the limit (`bodylimit`), a method the path does not take
  (`methods`)."""

from __future__ import annotations

import logging
import re
import time

from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanfleet import logs, metrics, tracing
from scanfleet.api import ratelimit
from scanfleet.api.bodylimit import BodyLimit
from scanfleet.api.errors import error_body
from scanfleet.api.methods import AllowedMethods

log = logging.getLogger(__name__)
access = logging.getLogger("scanfleet.api.access")

NOT_LOGGED = frozenset({"/healthz", "/readyz", "/metrics"})  # route templates

# UUIDs, ULIDs, hex and base64 ids, a proxy's "host:port/n": nothing that could forge a log field or a header.
_SANE = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")


def request_id(supplied: str | None) -> str:
    return supplied if supplied is not None and _SANE.fullmatch(supplied) else tracing.random_hex(32)


def _supplied(scope: Scope) -> tuple[str | None, str | None]:
    """The client's X-Request-ID and traceparent, the first of each (ASGI header names are lowercase): one pass
    over the raw headers, as every request makes it."""
    supplied_id = traceparent = None
    for name, value in scope["headers"]:
        if name == b"x-request-id" and supplied_id is None:
            supplied_id = value.decode("latin-1")
        elif name == b"traceparent" and traceparent is None:
            traceparent = value.decode("latin-1")
    return supplied_id, traceparent


class RequestContext:
    """Pure ASGI (no task or stream of its own per request): the ids it binds are those the app, its responses and
    the access log see."""

    def __init__(self, app: ASGIApp, body_limit: BodyLimit, methods: AllowedMethods) -> None:
        self.app = app
        self._body_limit = body_limit
        self._methods = methods
        self._metrics = _RouteMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        supplied_id, traceparent = _supplied(scope)
        rid = request_id(supplied_id)
        header = (b"x-request-id", rid.encode())
        status: int | None = None

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                ratelimit.add_headers(scope, message)
                message["headers"] = [*message.get("headers", ()), header]  # no route sets it
                status = message["status"]  # started, from here on
            await send(message)

        parent = tracing.parse(traceparent)
        method = scope["method"]
        with logs.bind(request_id=rid), tracing.span(method, parent, "server", **{"scanfleet.request_id": rid}) as span:
            try:
                refusal, counted = self._body_limit.check(scope, receive)
                refusal = refusal or self._methods.refusal(scope)
                if refusal is None:
                    await self.app(scope, counted, answer)
                else:
                    await refusal(scope, receive, answer)
            except Exception:
                # Logged here, with the request's ids; answered here too, so that the 500 names its request id.
                log.exception("%s %s failed", method, scope["path"])
                if status is not None:
                    raise
                body = error_body("internal_error", f"an unexpected error; quote request id {rid} when reporting it")
                await JSONResponse(body, status_code=500)(scope, receive, answer)
            finally:
                # The template ("/v1/scans/{scan_id}") the router matched, never the raw path: ids in labels
                # would explode their cardinality.
                route = getattr(scope.get("route"), "path", None)
                answered = status or 500  # not answered: an exception propagating from here becomes a 500 outside
                self._metrics.record(route or "unmatched", method, answered, time.perf_counter() - started)
                if route not in NOT_LOGGED:
                    _log_access(scope, answered)
                if span.exported:
                    _finish(span, method, route, answered)


class _RouteMetrics:
    """Each label set's child, looked up once: `labels()` takes a lock and builds its key on every call. Their
    number is bounded: route templates, the HTTP parser's methods and statuses."""

    def __init__(self) -> None:
        self._timers: dict[tuple[str, str], Histogram] = {}
        self._answers: dict[tuple[str, str, int], Counter] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        timer = self._timers.get((route, method))
        if timer is None:
            timer = self._timers[route, method] = metrics.HTTP_DURATION.labels(route, method)
        timer.observe(seconds)
        answers = self._answers.get((route, method, status))
        if answers is None:
            answers = self._answers[route, method, status] = metrics.HTTP_REQUESTS.labels(route, method, str(status))
        answers.inc()


def _log_access(scope: Scope, status: int) -> None:
    if not access.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    path = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
    if scope["query_string"]:
        path = f"{path}?{scope['query_string'].decode('latin-1')}"
    address = f"{client[0]}:{client[1]}" if client else ""
    access.info(
        '%s - "%s %s HTTP/%s" %d', address, scope["method"], path.replace('"', "%22"), scope["http_version"], status
    )


def _finish(span: tracing.Span, method: str, route: str | None, status: int) -> None:
    attributes: dict[str, str | int] = {"http.request.method": method, "http.response.status_code": status}
    if route:
        attributes["http.route"] = route
    span.finish(f"{method} {route}" if route else method, error=status >= 500, **attributes)
