"""An HTTP step: placeholders filled in, the request sent through the guarded client, redirects followed
by hand (each hop re-guarded, its body never read), the final body read up to the byte cap."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, replace
from typing import Any

import httpx

from scanfleet.checks.steps import FormBody, HttpStep, JsonBody, RawBody
from scanfleet.checks.targets import url_from_variable, url_problem, without_userinfo
from scanfleet.checks.template import MissingVariable, render
from scanfleet.http.body import read_body
from scanfleet.http.failures import TARGET_ERRORS, classify
from scanfleet.worker.checks.attempt import REDACTED, Attempt, Observation, StepError
from scanfleet.worker.checks.env import SuiteRun
from scanfleet.worker.checks.timing import HttpTrace, Timings

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
SNAPSHOT_CHARS = 2048  # of the body kept in evidence
# Never in evidence: credentials, whoever set them.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass(frozen=True)
class _Final:
    """The last response (closed) with at most max_body_bytes of its body."""

    response: httpx.Response
    body: bytes
    truncated: bool  # more was left unread


@dataclass(frozen=True)
class _Outgoing:
    """What to send, kept apart from httpx.Request so a redirect can rebuild it for another URL."""

    method: str
    url: httpx.URL
    headers: dict[str, str]
    body: JsonBody | FormBody | RawBody | None


async def execute(step: HttpStep, run: SuiteRun) -> Attempt:
    observation = Observation(observed_at=run.env.now())
    check_url = url_from_variable(step.url)
    try:
        step = step.map_templates(lambda _field, text: render(text, run.variables))
    except MissingVariable as exc:
        message = f"{{{{{exc.name}}}}} has no value: the step that sets it did not"
        return Attempt(observation, Timings(), StepError("variable_missing", message))
    location = without_userinfo(step.url)
    problem = url_problem(step.url) if check_url else None
    if problem is not None:
        return Attempt(observation, Timings(), StepError("invalid_url", problem.message), location=location)
    trace = HttpTrace()
    hops: list[dict[str, Any]] = []
    attempt = Attempt(observation, trace.timings, location=location, extra={"redirects": hops})
    started = time.perf_counter()
    final: _Final | None = None
    try:
        async with asyncio.timeout(step.timeout_seconds):
            outgoing = _outgoing(step)  # a value substituted into the URL can still make it unparseable
            request = _build(run.env.client, outgoing, trace, step.timeout_seconds)
            attempt.request = _request_snapshot(request)
            final = await _exchange(run, step, outgoing, request, trace, hops)
    except TARGET_ERRORS as exc:
        failure = classify(exc, step.timeout_seconds)
        attempt.error = StepError(failure.code, failure.message)
    trace.timings.total = time.perf_counter() - started
    if final is not None:
        _observe(attempt, final)
    return attempt


def _observe(attempt: Attempt, final: _Final) -> None:
    response, text = final.response, _decode(final.body, final.response.charset_encoding)
    observation = attempt.observation
    observation.elapsed_ms = attempt.timings.total * 1000
    observation.status, observation.headers, observation.text = response.status_code, response.headers, text
    attempt.response = {
        "status": response.status_code,
        "http_version": response.http_version,
        "headers": [[name, value] for name, value in response.headers.multi_items()],
        "body": text[:SNAPSHOT_CHARS],
        "truncated": final.truncated or len(text) > SNAPSHOT_CHARS,
        "bytes": len(final.body),
    }


async def _exchange(
    run: SuiteRun,
    step: HttpStep,
    outgoing: _Outgoing,
    request: httpx.Request,
    trace: HttpTrace,
    hops: list[dict[str, Any]],
) -> _Final:
    client = run.env.client
    while True:
        if run.cookies.jar:  # the stdlib jar is slow even when empty: skip it while it has nothing to do
            run.cookies.set_cookie_header(request)
        response = await client.send(request, stream=True)
        try:
            if "set-cookie" in response.headers:
                run.cookies.extract_cookies(response)
            location = response.headers.get("location")
            if not (step.follow_redirects and location and response.status_code in REDIRECT_STATUSES):
                return _Final(response, *await read_body(response, run.env.max_body_bytes))
        finally:
            await response.aclose()
        if len(hops) == MAX_REDIRECTS:
            raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)
        hops.append({"url": without_userinfo(request.url), "status": response.status_code, "location": location})
        outgoing = _redirected(outgoing, response.status_code, request.url.join(location))
        request = _build(client, outgoing, trace, step.timeout_seconds)


def _outgoing(step: HttpStep) -> _Outgoing:
    headers = dict(step.headers)
    if isinstance(step.body, RawBody) and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = step.body.content_type
    if step.auth is not None:
        if step.auth.type == "basic":
            pair = f"{step.auth.username}:{step.auth.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            headers["Authorization"] = f"Bearer {step.auth.token}"
    return _Outgoing(step.method, httpx.URL(step.url), headers, step.body)


def _redirected(outgoing: _Outgoing, status: int, url: httpx.URL) -> _Outgoing:
    """The next hop as httpx (and browsers) would send it: 303, and 302 except for HEAD, and 301 after a
    POST become a body-less GET; credentials go to the same origin only."""
    method = outgoing.method
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        method = "GET"
    headers = outgoing.headers
    if (url.scheme, url.host, url.port) != (outgoing.url.scheme, outgoing.url.host, outgoing.url.port):
        headers = {name: value for name, value in headers.items() if name.lower() not in CREDENTIAL_HEADERS}
    body = outgoing.body if method == outgoing.method else None
    if body is None:
        headers = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    return replace(outgoing, method=method, url=url, headers=headers, body=body)


def _build(client: httpx.AsyncClient, outgoing: _Outgoing, trace: HttpTrace, timeout: float) -> httpx.Request:
    body = outgoing.body
    return client.build_request(
        outgoing.method,
        outgoing.url,
        headers=outgoing.headers,
        json=body.value if isinstance(body, JsonBody) else None,
        data=body.value if isinstance(body, FormBody) else None,
        content=body.value.encode() if isinstance(body, RawBody) else None,
        timeout=timeout,
        extensions={"trace": trace},
    )


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def _request_snapshot(request: httpx.Request) -> dict[str, Any]:
    headers = [
        [name, REDACTED if name.lower() in CREDENTIAL_HEADERS else value]
        for name, value in request.headers.multi_items()
    ]
    return {"method": request.method, "url": without_userinfo(request.url), "headers": headers}
