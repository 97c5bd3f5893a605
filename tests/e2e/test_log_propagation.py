"""Real API and worker processes: one scan's request id, org id and trace are on both processes' JSON lines,
and with OpenTelemetry the worker's span is a child of the API's."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from scanfleet.broker import connection, keys
from scanfleet.config import Settings
from scanfleet.embedded import die_with_parent, free_port
from tests.conftest import Tenant, make_tenant, own_redis
from tests.support.site import FixtureSite, eventually, html

pytestmark = pytest.mark.e2e


class Process:
    def __init__(self, module: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as stderr:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", module], env=env, stderr=stderr, preexec_fn=die_with_parent
            )

    def lines(self) -> list[dict[str, Any]]:
        # Every line a process writes is one JSON object: one that is not fails the test here.
        return [json.loads(text) for text in self.log.read_text().splitlines() if text]

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(30)


class Platform:
    def __init__(self, base_url: str, api: Process, worker: Process) -> None:
        self.base_url, self.api, self.worker = base_url, api, worker

    async def submit(self, tenant: Tenant, url: str, request_id: str) -> str:
        """The job id of a scan submitted with this X-Request-ID."""
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            headers = tenant.headers | {"X-Request-ID": request_id}
            response = await client.post("/v1/scans", json={"url": url}, headers=headers)
        assert response.status_code == 202 and response.headers["x-request-id"] == request_id
        return keys.job_id(uuid.UUID(response.json()["id"]))


Start = Callable[[dict[str, str]], AbstractAsyncContextManager[Platform]]


@pytest.fixture
def start(settings: Settings, tmp_path: Path) -> Start:
    """Starts an API and a worker process (with extra environment) on a Redis database of their own."""
    own = own_redis(settings, 7, __name__)

    @asynccontextmanager
    async def started(extra: dict[str, str]) -> AsyncIterator[Platform]:
        port = free_port()
        env = os.environ | {
            "DATABASE_URL": str(own.database_url), "REDIS_URL": str(own.redis_url), "SCANFLEET_API_PORT": str(port),
            "SCANFLEET_WORKER_METRICS_PORT": "0", "SCANFLEET_WORKER_POLL_DELAY_SECONDS": "0.01",
            "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8", "SCANFLEET_LOG_LEVEL": "INFO",
        } | extra  # fmt: skip
        platform = Platform(
            f"http://127.0.0.1:{port}", Process("scanfleet.api", env, tmp_path / "api.log"),
            Process("scanfleet.worker", env, tmp_path / "worker.log"),
        )  # fmt: skip
        try:
            async with httpx.AsyncClient(base_url=platform.base_url) as client:

                async def up() -> bool:
                    try:
                        return (await client.get("/healthz")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(up, timeout=30)
            yield platform
        finally:
            platform.api.stop()
            platform.worker.stop()
            redis = await connection.connect(own)
            await redis.flushdb()
            await redis.aclose()

    return started


async def test_one_scans_ids_are_on_the_api_and_worker_log_lines(
    start: Start, pool: asyncpg.Pool, site: FixtureSite
) -> None:
    tenant = await make_tenant(pool)
    request_id = f"e2e-{uuid.uuid4().hex[:12]}"
    async with start({}) as platform:
        job_id = await platform.submit(
            tenant, site.add(f"/logged-{uuid.uuid4().hex[:8]}", html("<p>hi</p>")), request_id
        )

        def of_the_scan(process: Process) -> list[dict[str, Any]]:
            return [line for line in process.lines() if line.get("request_id") == request_id]

        async def worker_done() -> list[dict[str, Any]]:
            return [line for line in of_the_scan(platform.worker) if line["logger"] == "scanfleet.worker.tasks"]

        (done,) = await eventually(worker_done, timeout=30)
        api_lines = {line["logger"]: line for line in of_the_scan(platform.api)}
    assert (done["org_id"], done["job_id"], done["task"]) == (str(tenant.org.id), job_id, "run_scan")
    assert "succeeded" in done["msg"]
    admitted = api_lines["scanfleet.lifecycle"]
    assert (admitted["org_id"], admitted["job_id"]) == (str(tenant.org.id), job_id)
    assert admitted["trace_id"] == done["trace_id"] and admitted["span_id"] != done["span_id"]
    # The access line is JSON too, and names the request it answered and its organisation.
    access = api_lines["scanfleet.api.access"]
    assert "POST /v1/scans" in access["msg"] and "202" in access["msg"] and access["org_id"] == str(tenant.org.id)


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps every span it is sent, with its service's name."""

    spans: list[tuple[str, Any]]

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
        for resource_spans in request.resource_spans:
            attributes = {item.key: item.value.string_value for item in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend((attributes["service.name"], span) for span in scope_spans.spans)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="the otel extra is not installed")
    spans: list[tuple[str, Any]] = []
    handler = type("Handler", (Collector,), {"spans": spans})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", spans
    server.shutdown()
    server.server_close()


async def test_with_opentelemetry_the_workers_span_is_a_child_of_the_apis_span(
    start: Start, pool: asyncpg.Pool, site: FixtureSite, collector: tuple[str, list[tuple[str, Any]]]
) -> None:
    endpoint, spans = collector
    tenant = await make_tenant(pool)
    request_id = f"otel-{uuid.uuid4().hex[:12]}"
    # Batches leave every 50 ms instead of every 5 s.
    async with start({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}) as platform:
        job_id = await platform.submit(
            tenant, site.add(f"/traced-{uuid.uuid4().hex[:8]}", html("<p>hi</p>")), request_id
        )

        def with_attribute(key: str, value: str) -> list[tuple[str, Any]]:
            def has(span: Any) -> bool:
                return any(item.key == key and item.value.string_value == value for item in span.attributes)

            return [(service, span) for service, span in spans if has(span)]

        async def both_exported() -> bool:
            return bool(
                with_attribute("scanfleet.job_id", job_id) and with_attribute("scanfleet.request_id", request_id)
            )

        await eventually(both_exported, timeout=30)
    [(job_service, job)] = with_attribute("scanfleet.job_id", job_id)
    [(request_service, request)] = with_attribute("scanfleet.request_id", request_id)
    assert (request_service, request.name) == ("scanfleet-api", "POST /v1/scans")
    assert (job_service, job.name) == ("scanfleet-worker", "run_scan")
    assert job.trace_id == request.trace_id and job.parent_span_id == request.span_id
