"""JSON log lines carry the ids bound where they were written, and a job carries its cause's ids to its worker."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import uuid
from typing import Any

import pytest
from arq.jobs import deserialize_job

from scanfleet import logs, tracing
from scanfleet.broker import jobs

log = logging.getLogger("scanfleet.test")


def line(message: str = "hello", exc: bool = False) -> dict[str, Any]:
    """What the formatter writes for a record logged here and now."""
    record = log.makeRecord(log.name, logging.INFO, __file__, 1, message, (), None)
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            record.exc_info = sys.exc_info()
    written: dict[str, Any] = json.loads(logs.JsonFormatter().format(record))
    return written


def test_a_line_outside_any_context_has_only_the_basic_fields() -> None:
    assert set(line()) == {"ts", "level", "logger", "msg"}
    assert line()["msg"] == "hello" and line()["level"] == "info" and line()["logger"] == "scanfleet.test"


def test_bound_ids_are_on_every_line_inside_the_block_and_gone_after() -> None:
    org = uuid.uuid4()
    with logs.bind(request_id="r-1", org_id=org):
        assert (line()["request_id"], line()["org_id"]) == ("r-1", str(org))
        with logs.bind(job_id="job:1", org_id=None):  # None leaves a bound id alone
            assert {key: line()[key] for key in ("request_id", "org_id", "job_id")} == {
                "request_id": "r-1", "org_id": str(org), "job_id": "job:1",
            }  # fmt: skip
        assert "job_id" not in line()
    assert "request_id" not in line() and "org_id" not in line()


def test_the_exception_of_a_failed_step_is_on_its_line_with_the_ids() -> None:
    with logs.bind(request_id="r-2"):
        entry = line("failed", exc=True)
    assert entry["request_id"] == "r-2" and "ValueError: boom" in entry["exc"]


async def test_concurrent_tasks_keep_their_own_ids() -> None:
    seen: dict[str, list[str]] = {}

    async def serve(request_id: str) -> None:
        with logs.bind(request_id=request_id):
            for _ in range(3):
                seen.setdefault(request_id, []).append(line()["request_id"])
                await asyncio.sleep(0)

    await asyncio.gather(serve("a"), serve("b"))
    assert seen == {"a": ["a"] * 3, "b": ["b"] * 3}


async def test_an_id_annotated_deep_inside_reaches_the_whole_block_and_its_tasks_but_not_beyond() -> None:
    async def authenticate() -> None:  # runs in a task of its own, as a framework may run a dependency
        logs.annotate(org_id="org-1")

    with logs.bind(request_id="r-3"):
        await asyncio.create_task(authenticate())
        assert line()["org_id"] == "org-1"  # the block's own later lines (an access log) see it
    assert "org_id" not in line()


def test_trace_ids_are_those_of_the_current_span() -> None:
    with tracing.span("work", None, "producer") as span:
        entry = line()
    assert (entry["trace_id"], entry["span_id"]) == (span.trace.trace_id, span.trace.span_id)
    assert "trace_id" not in line()


def test_a_job_carries_the_request_and_org_ids_and_the_current_span_as_parent() -> None:
    assert logs.propagated() == {}
    with logs.bind(request_id="r-4", job_id="not carried"), tracing.span("request", None, "server") as span:
        assert logs.propagated(org_id="org-2") == {
            "request_id": "r-4", "org_id": "org-2", "traceparent": span.trace.header(),
        }  # fmt: skip


def test_a_job_runs_with_its_causes_ids_in_a_child_span_of_its_trace() -> None:
    parent = tracing.TraceParent.root()
    context = {"request_id": "r-5", "org_id": "org-3", "traceparent": parent.header()}
    with logs.job_context("job:abc", "run_scan", context):
        entry = line()
    assert {key: entry[key] for key in ("request_id", "org_id", "job_id", "task", "trace_id")} == {
        "request_id": "r-5", "org_id": "org-3", "job_id": "job:abc", "task": "run_scan", "trace_id": parent.trace_id,
    }  # fmt: skip
    assert entry["span_id"] != parent.span_id


def test_a_job_without_context_or_with_a_broken_traceparent_still_gets_its_ids_and_a_trace() -> None:
    for context in (None, {}, {"traceparent": "garbage", "org_id": "org-4"}):
        with logs.job_context("job:def", "run_checks", context):
            entry = line()
        assert entry["job_id"] == "job:def" and entry["task"] == "run_checks"
        assert len(entry["trace_id"]) == 32 and "request_id" not in entry
    assert entry["org_id"] == "org-4"


def test_a_payload_carries_the_context_as_a_keyword_and_without_one_is_the_plain_call() -> None:
    scan_id = uuid.uuid4()
    plain = deserialize_job(jobs.payload("privacy", scan_id))
    assert (plain.function, plain.args, plain.kwargs) == ("run_scan", (str(scan_id),), {})
    assert deserialize_job(jobs.payload("checks", scan_id, {})).kwargs == {}
    context = {"request_id": "r-6", "org_id": "org-5", "traceparent": tracing.TraceParent.root().header()}
    carried = deserialize_job(jobs.payload("checks", scan_id, context))
    assert (carried.function, carried.args, carried.kwargs) == ("run_checks", (str(scan_id),), {"context": context})


class Writes(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def buffered() -> tuple[logging.Logger, Writes]:
    stream = Writes()
    handler = logs.TurnBuffered(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"scanfleet.test.buffered.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


async def test_the_lines_of_one_turn_of_the_loop_are_written_together_once_it_is_over() -> None:
    logger, stream = buffered()
    for n in range(3):
        logger.info("line %d", n)
    assert stream.writes == []
    await asyncio.sleep(0)
    assert stream.writes == ["line 0\nline 1\nline 2\n"]


async def test_a_warning_is_written_at_once_after_the_lines_before_it() -> None:
    logger, stream = buffered()
    logger.info("first")
    logger.warning("trouble")
    assert stream.writes == ["first\ntrouble\n"]
    await asyncio.sleep(0)
    assert stream.writes == ["first\ntrouble\n"]


def test_outside_an_event_loop_a_line_is_written_at_once() -> None:
    logger, stream = buffered()
    logger.info("at start-up")
    assert stream.writes == ["at start-up\n"]


def test_a_loop_closed_with_a_write_due_leaves_no_line_behind_in_the_next() -> None:
    logger, stream = buffered()

    first = asyncio.new_event_loop()
    first.call_soon(logger.info, "last of the first loop")
    first.call_soon(first.stop)  # in the same turn: the loop stops before the write that line scheduled
    first.run_forever()
    first.close()
    assert stream.writes == []

    async def log_and_wait() -> None:
        logger.info("in the second loop")
        await asyncio.sleep(0)

    asyncio.run(log_and_wait())
    assert stream.writes == ["last of the first loop\nin the second loop\n"]


async def test_many_lines_are_written_in_runs_no_longer_than_a_pipe_writes_whole() -> None:
    logger, stream = buffered()
    for n in range(200):
        logger.info("%03d %s", n, "x" * 96)  # 101 characters a line
    await asyncio.sleep(0)
    assert all(len(chunk) <= 4096 for chunk in stream.writes) and len(stream.writes) >= 5
    assert "".join(stream.writes).splitlines() == [f"{n:03d} {'x' * 96}" for n in range(200)]


class Failing(Writes):
    """A stream whose first write fails."""

    def write(self, text: str) -> int:
        if not self.writes:
            self.writes.append("")
            raise OSError("the pipe is full")
        return super().write(text)


async def test_a_failed_write_is_reported_as_logging_reports_errors_and_the_rest_still_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = Failing()
    handler = logs.TurnBuffered(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    reported: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", reported.append)
    handler.handle(log.makeRecord(log.name, logging.INFO, __file__, 1, "x" * 4090, (), None))  # pending
    handler.handle(log.makeRecord(log.name, logging.WARNING, __file__, 1, "after it", (), None))  # two runs
    assert [record.getMessage() for record in reported] == ["after it"]  # not raised into the caller
    assert stream.writes == ["", "after it\n"]  # the first run failed, the next was still written


async def test_what_a_stuck_turn_holds_is_written_on_demand() -> None:
    stream = Writes()
    handler = logs.TurnBuffered(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        handler.handle(log.makeRecord(log.name, logging.INFO, __file__, 1, "doing the step", (), None))
        assert stream.writes == []
        logs.write_pending(timeout=1)
        assert stream.writes == ["doing the step\n"]
    finally:
        root.removeHandler(handler)
