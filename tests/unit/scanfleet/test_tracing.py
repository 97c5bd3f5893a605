"""W3C traceparent: parsed strictly, made fresh when absent; without OpenTelemetry configured, none is imported."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scanfleet import tracing

ROOT = Path(__file__).resolve().parents[3]
TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def test_a_valid_traceparent_is_read_with_its_sampled_flag() -> None:
    assert tracing.parse(f"00-{TRACE}-{SPAN}-01") == tracing.TraceParent(TRACE, SPAN, sampled=True)
    assert tracing.parse(f" 00-{TRACE}-{SPAN}-00 ") == tracing.TraceParent(TRACE, SPAN, sampled=False)
    assert tracing.parse(f"00-{TRACE}-{SPAN}-03") == tracing.TraceParent(TRACE, SPAN, sampled=True)


def test_a_later_version_may_append_fields() -> None:
    assert tracing.parse(f"01-{TRACE}-{SPAN}-01-what-comes-next") == tracing.TraceParent(TRACE, SPAN)


@pytest.mark.parametrize(
    "header",
    [
        None, "", "garbage", f"00-{TRACE}-{SPAN}", f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has four fields
        f"ff-{TRACE}-{SPAN}-01", f"00-{TRACE.upper()}-{SPAN}-01", f"00-{TRACE[:-1]}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}0-01", f"00-{'0' * 32}-{SPAN}-01", f"00-{TRACE}-{'0' * 16}-01", f"00-{TRACE}-{SPAN}-0x",
        f"0-{TRACE}-{SPAN}-01", f"00-{TRACE[:-1]}g-{SPAN}-01",
    ],
)  # fmt: skip
def test_a_malformed_traceparent_is_ignored(header: str | None) -> None:
    assert tracing.parse(header) is None


def test_ids_round_trip_and_a_child_stays_in_its_trace() -> None:
    root = tracing.TraceParent.root()
    assert tracing.parse(root.header()) == root
    child = root.child()
    assert child.trace_id == root.trace_id and child.span_id != root.span_id and child.sampled
    unsampled = tracing.parse(tracing.TraceParent(TRACE, SPAN, sampled=False).child().header())
    assert unsampled is not None and unsampled.sampled is False


def test_a_span_continues_its_parent_or_starts_a_trace_and_is_current_only_inside() -> None:
    parent = tracing.TraceParent(TRACE, SPAN)
    assert tracing.current() is None
    with tracing.span("job", parent, "consumer") as opened:
        assert tracing.current() == opened.trace
        assert opened.trace.trace_id == TRACE and opened.trace.span_id != SPAN
        with tracing.span("inner", None, "producer") as fresh:
            assert tracing.current() == fresh.trace and fresh.trace.trace_id != TRACE
        assert tracing.current() == opened.trace
        opened.finish("job done", error=True, status=1)  # nothing to annotate without OpenTelemetry: no effect
    assert tracing.current() is None


def test_without_an_endpoint_opentelemetry_is_never_imported() -> None:
    script = """
import sys
from scanfleet import logs, tracing
tracing.configure(None, "test")
with logs.job_context("job:1", "run_scan", {"traceparent": tracing.TraceParent.root().header()}):
    logs.propagated()
assert not [name for name in sys.modules if name.startswith("opentelemetry")], "imported"
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=ROOT)


def test_an_endpoint_without_the_extra_installed_leaves_ids_only_and_says_so() -> None:
    script = """
import logging, sys
sys.modules["opentelemetry.sdk"] = None  # as if the otel extra were not installed
from scanfleet import tracing
class Kept(logging.Handler):
    def emit(self, record):
        warned.append(record.getMessage())
warned = []
logging.getLogger("scanfleet.tracing").addHandler(Kept())
tracing.configure("http://127.0.0.1:4318", "test")
with tracing.span("job", None, "consumer") as opened:
    assert opened.trace == tracing.current()
assert warned and "otel extra" in warned[0], warned
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=ROOT)


def test_ids_are_lowercase_hex_of_their_length_and_a_forked_child_draws_its_own() -> None:
    ids = {tracing.random_hex(32) for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 32 and re.fullmatch("[0-9a-f]+", i) for i in ids)
    assert tracing.parse(tracing.TraceParent.root().header()) is not None
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next id, to the parent
        os.write(write_end, tracing.random_hex(32).encode())
        os._exit(0)
    os.close(write_end)
    drawn_in_child = os.read(read_end, 64).decode()
    os.waitpid(child, 0)
    assert len(drawn_in_child) == 32 and drawn_in_child != tracing.random_hex(32)
