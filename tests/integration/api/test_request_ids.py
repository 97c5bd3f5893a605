"""X-Request-ID and traceparent at the API's edge, and carried by the job a request causes into its worker."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from arq import Worker
from arq.connections import ArqRedis
from arq.jobs import Job
from prometheus_client import REGISTRY

from scanfleet import logs, tracing
from scanfleet.broker import keys
from scanfleet.config import Settings
from scanfleet.db import scans
from tests.conftest import Tenant
from tests.support.site import FixtureSite, eventually, html

TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


class JsonLines:
    """Every record logged while installed, formatted as the processes format it (the ids are read at emit time)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.JsonFormatter())

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.stream.getvalue().splitlines()]


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    captured = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(captured.handler)
    root.setLevel(logging.INFO)
    yield captured
    root.removeHandler(captured.handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    "sent", ["abc-123", str(uuid.uuid4()), "Root=1-5e1b4151-5ac6c58f5b5dbd6a09f4e9b4", "lb:8080/17", "a" * 128]
)
async def test_a_sane_request_id_is_kept(api: httpx.AsyncClient, sent: str) -> None:
    assert (await api.get("/healthz", headers={"X-Request-ID": sent})).headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", [None, "", "has space", "a" * 129, 'quo"te', "semi;colon", "{json}", "tab\there"])
async def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(api: httpx.AsyncClient, sent: str | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    answered = {(await api.get("/healthz", headers=headers)).headers["x-request-id"] for _ in range(2)}
    assert len(answered) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", made) for made in answered)


async def test_errors_carry_the_request_id_too(api: httpx.AsyncClient) -> None:
    unauthenticated = await api.post("/v1/scans", json={"url": "http://example.com/"}, headers={"X-Request-ID": "e-1"})
    assert (unauthenticated.status_code, unauthenticated.headers["x-request-id"]) == (401, "e-1")
    assert (await api.get("/nowhere", headers={"X-Request-ID": "e-2"})).headers["x-request-id"] == "e-2"


async def test_an_unexpected_failure_is_a_json_500_naming_its_request_id_and_logged_with_it(
    settings: Settings, json_lines: JsonLines
) -> None:
    from scanfleet.api.app import create_app

    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scanfleet.test") as client:
        response = await client.get(
            "/broken", headers={"X-Request-ID": "bug-7", "traceparent": f"00-{TRACE}-{SPAN}-01"}
        )
    assert (response.status_code, response.headers["x-request-id"]) == (500, "bug-7")
    assert response.json()["error"]["code"] == "internal_error" and "bug-7" in response.json()["error"]["message"]
    (failure,) = [line for line in json_lines.lines() if line.get("exc")]
    assert failure["request_id"] == "bug-7" and "RuntimeError: a bug" in failure["exc"]
    assert failure["trace_id"] == TRACE and failure["span_id"] != SPAN  # the request's span, in the client's trace


async def carried(queue: ArqRedis, scan_id: str) -> dict[str, str]:
    """The context in the job's definition in Redis (its body while queued, its result once a worker ran it)."""
    info = await Job(keys.job_id(uuid.UUID(scan_id)), queue).info()
    assert info is not None
    context: dict[str, str] = info.kwargs["context"]
    return context


async def test_a_request_id_sent_comes_back_and_the_job_carries_it_with_the_org_and_the_trace(
    api: httpx.AsyncClient, queue: ArqRedis, tenant: Tenant, site: FixtureSite
) -> None:
    url = site.add(f"/ids-{uuid.uuid4().hex[:8]}", html("<p>hi</p>"))
    headers = tenant.headers | {"X-Request-ID": "client-req-42", "traceparent": f"00-{TRACE}-{SPAN}-01"}
    response = await api.post("/v1/scans", json={"url": url}, headers=headers)
    assert response.status_code == 202
    assert response.headers["x-request-id"] == "client-req-42"
    context = await carried(queue, response.json()["id"])
    assert (context["request_id"], context["org_id"]) == ("client-req-42", str(tenant.org.id))
    parent = tracing.parse(context["traceparent"])
    # The job's parent is the request's span, in the client's trace.
    assert parent is not None and parent.trace_id == TRACE and parent.span_id != SPAN


async def test_the_worker_logs_a_job_with_the_request_and_org_ids_of_the_request_that_caused_it(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, tenant: Tenant, site: FixtureSite, json_lines: JsonLines
) -> None:
    url = site.add(f"/ids-{uuid.uuid4().hex[:8]}", html("<p>hi</p>"))
    response = await api.post("/v1/scans", json={"url": url}, headers=tenant.headers | {"X-Request-ID": "flow-1"})
    scan_id = response.json()["id"]
    job_id = keys.job_id(uuid.UUID(scan_id))

    async def logged() -> dict[str, dict[str, Any]] | None:  # the worker logs its job once the result is written
        by_logger = {line["logger"]: line for line in json_lines.lines() if line.get("job_id") == job_id}
        return by_logger if "scanfleet.worker.tasks" in by_logger else None

    by_logger = await eventually(logged)
    assert isinstance(by_logger, dict) and await scans.is_final(pool, uuid.UUID(scan_id))
    api_line, worker_line = by_logger["scanfleet.lifecycle"], by_logger["scanfleet.worker.tasks"]
    for line in (api_line, worker_line):
        assert (line["request_id"], line["org_id"]) == ("flow-1", str(tenant.org.id)), line
    assert worker_line["trace_id"] == api_line["trace_id"] and worker_line["task"] == "run_scan"


@pytest.fixture
def exported() -> Iterator[Any]:
    """Spans of this process, kept in memory (skips without the otel extra)."""
    sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)


async def test_with_opentelemetry_the_jobs_span_is_a_child_of_the_requests_span(
    api: httpx.AsyncClient, worker: Worker, tenant: Tenant, site: FixtureSite, exported: Any
) -> None:
    url = site.add(f"/ids-{uuid.uuid4().hex[:8]}", html("<p>hi</p>"))
    response = await api.post("/v1/scans", json={"url": url}, headers=tenant.headers | {"X-Request-ID": "span-1"})
    job_id = keys.job_id(uuid.UUID(response.json()["id"]))

    async def job_span() -> Any:
        return next((span for span in exported.get_finished_spans()
                     if span.name == "run_scan" and span.attributes["scanfleet.job_id"] == job_id), None)  # fmt: skip

    job = await eventually(job_span)
    (request,) = [
        span for span in exported.get_finished_spans() if span.attributes.get("scanfleet.request_id") == "span-1"
    ]
    assert request.name == "POST /v1/scans" and request.attributes["http.response.status_code"] == 202
    assert job.parent.span_id == request.context.span_id and job.context.trace_id == request.context.trace_id


async def test_an_answer_has_its_access_line_with_its_ids_and_probes_are_counted_not_logged(
    api: httpx.AsyncClient, tenant: Tenant, json_lines: JsonLines
) -> None:
    def probes_counted() -> float:
        value = REGISTRY.get_sample_value(
            "scanfleet_http_requests_total", {"route": "/healthz", "method": "GET", "status": "200"}
        )
        return value or 0.0

    before = probes_counted()
    assert (await api.get("/healthz")).status_code == 200
    assert (await api.get("/readyz")).status_code == 200
    listed = await api.get("/v1/scans?limit=1", headers=tenant.headers | {"X-Request-ID": "access-1"})
    assert listed.status_code == 200
    access = [line for line in json_lines.lines() if line["logger"] == "scanfleet.api.access"]
    (answer,) = [line for line in access if line.get("request_id") == "access-1"]
    assert '"GET /v1/scans?limit=1 HTTP/1.1" 200' in answer["msg"] and answer["org_id"] == str(tenant.org.id)
    assert not [line for line in access if "/healthz" in line["msg"] or "/readyz" in line["msg"]]
    assert probes_counted() == before + 1
