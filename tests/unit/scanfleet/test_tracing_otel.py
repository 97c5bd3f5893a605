"""With OpenTelemetry: spans continue the W3C parent, log lines name the exported span, and an OTLP endpoint
set for a process receives its spans. Skipped without the `otel` extra."""

from __future__ import annotations

import http.server
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from scanfleet import logs, tracing

ROOT = Path(__file__).resolve().parents[3]
TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    tracing.use(provider)
    yield provider
    tracing.use(None)


@pytest.fixture
def exported(provider: TracerProvider) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def test_a_jobs_span_is_a_child_of_its_causes_span_and_its_log_lines_name_it(exported: InMemorySpanExporter) -> None:
    context = {"request_id": "r-1", "traceparent": f"00-{TRACE}-{SPAN}-01"}
    with logs.job_context("job:1", "run_scan", context):
        record = logging.getLogger("t").makeRecord("t", logging.INFO, __file__, 1, "working", (), None)
        entry = json.loads(logs.JsonFormatter().format(record))
    (span,) = exported.get_finished_spans()
    assert span.name == "run_scan" and span.kind is SpanKind.CONSUMER
    assert span.parent is not None and (span.parent.trace_id, span.parent.span_id) == (int(TRACE, 16), int(SPAN, 16))
    assert (entry["trace_id"], entry["span_id"]) == (f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}")
    assert span.attributes is not None and span.attributes["scanfleet.job_id"] == "job:1"


def test_an_unsampled_parent_is_respected(exported: InMemorySpanExporter) -> None:
    with tracing.span("job", tracing.parse(f"00-{TRACE}-{SPAN}-00"), "consumer") as opened:
        assert opened.trace.sampled is False
    assert exported.get_finished_spans() == ()  # the default sampler follows the parent's decision


def test_a_server_span_is_named_and_marked_when_it_ends(exported: InMemorySpanExporter) -> None:
    with tracing.span("GET", None, "server") as opened:
        opened.finish("GET /v1/scans/{scan_id}", error=True, **{"http.response.status_code": 503})
    (span,) = exported.get_finished_spans()
    assert span.name == "GET /v1/scans/{scan_id}" and span.kind is SpanKind.SERVER and span.parent is None
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 503


def test_a_request_span_opened_by_the_framework_is_the_requests_span(
    provider: TracerProvider, exported: InMemorySpanExporter
) -> None:
    framework = provider.get_tracer("framework")
    with (
        framework.start_as_current_span("GET /x", kind=SpanKind.SERVER) as outer,
        tracing.span("GET", None, "server", **{"scanfleet.request_id": "r-2"}) as opened,
    ):
        assert opened.trace.span_id == f"{outer.get_span_context().span_id:016x}"
    (span,) = exported.get_finished_spans()  # one server span, not two
    assert span.attributes is not None and span.attributes["scanfleet.request_id"] == "r-2"


class Collector(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_process_given_an_endpoint_exports_its_spans_there_over_otlp() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/"
    script = f"""
from opentelemetry import trace
from scanfleet import tracing
tracing.configure({endpoint!r}, "scanfleet-probe")
with tracing.span("fire schedule", None, "producer"):
    pass
trace.get_tracer_provider().shutdown()  # flushes the batch
"""
    try:
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=ROOT)
    finally:
        server.shutdown()
        server.server_close()
    assert [path for path, _ in Collector.received] == ["/v1/traces"]
    body = Collector.received[0][1]
    assert b"scanfleet-probe" in body and b"fire schedule" in body
