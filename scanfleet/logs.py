"""Logging for every process: one line of JSON per record, so logs can be shipped and queried. A command's own
lines for the person at the terminal (`scanfleet up`'s) are plain text on stdout instead.

Every line carries the ids bound where it was written (request_id, org_id, job_id, task) and the current span's
trace_id and span_id: an API request's lines and those of the job it caused share request_id, org_id and trace_id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TextIO

from scanfleet import tracing

# One dict per bound block; `annotate` fills in the innermost, which tasks started inside it share.
_ids: ContextVar[dict[str, str] | None] = ContextVar("scanfleet_log_ids", default=None)

CARRIED = ("request_id", "org_id")  # the ids a job carries from its cause, with the trace's traceparent


def _strings(ids: Mapping[str, object]) -> dict[str, str]:
    return {key: str(value) for key, value in ids.items() if value is not None}


def current() -> dict[str, str]:
    return dict(_ids.get() or {})


def bind(**ids: object) -> _Bound:
    """Add ids (None ones are left out) to every line logged inside the block, and in tasks it starts."""
    return _Bound(_strings(ids))


class _Bound:
    """A class rather than a generator: every request opens one."""

    _token: Token[dict[str, str] | None]

    def __init__(self, ids: dict[str, str]) -> None:
        self._ids = ids

    def __enter__(self) -> None:
        self._token = _ids.set({**(_ids.get() or {}), **self._ids})

    def __exit__(self, *exc: object) -> None:
        _ids.reset(self._token)


def annotate(**ids: object) -> None:
    """Add ids to the innermost bound block as a whole: an org id learnt while serving a request then reaches
    that request's own lines too (its access log), not only those logged after this call."""
    bound = _ids.get()
    if bound is None:
        _ids.set(_strings(ids))
    else:
        bound.update(_strings(ids))


def propagated(**ids: object) -> dict[str, str]:
    """What a job carries from here (the job context): request and org ids, and the current span as its parent."""
    fields = {**current(), **_strings(ids)}
    carried = {key: fields[key] for key in CARRIED if key in fields}
    trace = tracing.current()
    if trace is not None:
        carried["traceparent"] = trace.header()
    return carried


@contextmanager
def job_context(job_id: str, task: str, context: Mapping[str, str] | None) -> Iterator[None]:
    """A worker's job: its ids and those its cause carried, in a span continuing the cause's trace."""
    carried = context or {}
    ids = {key: carried.get(key) for key in CARRIED}
    parent = tracing.parse(carried.get("traceparent"))
    with bind(job_id=job_id, task=task, **ids), tracing.span(task, parent, "consumer", **{"scanfleet.job_id": job_id}):
        yield


_ENCODER = json.JSONEncoder(default=str)  # made once: json.dumps makes one per call when given `default`


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **(_ids.get() or {}),
        }
        trace = tracing.current()
        if trace is not None:
            entry["trace_id"], entry["span_id"] = trace.trace_id, trace.span_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


class TurnBuffered(logging.StreamHandler[TextIO]):
    """Lines logged in one turn of an event loop are written together once the turn is over, in writes of at most
    PIPE_BUF bytes (each one whole on a pipe other processes write to as well; a longer line is a write of its
    own). A busy API logs a line per request
    (its access line): a write for many of them saves a system call each, and a lock shared with the other
    processes writing to the same file or pipe. Warnings and worse, and lines logged outside an event loop (in a
    thread, at start-up), are written at once, after those pending; `flush` (logging's, at exit) writes the rest."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._chars = 0
        self._scheduled_on: asyncio.AbstractEventLoop | None = None  # a write of the pending lines is due there

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        self._chars += len(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or record.levelno >= logging.WARNING or self._chars >= _PIPE_BUF:
            if not self._write():
                self.handleError(record)
        elif self._scheduled_on is not loop:  # a loop that closed with a write due left it undone: due here now
            self._scheduled_on = loop
            loop.call_soon(self._write)

    def flush(self) -> None:
        self._write()

    def _write(self) -> bool:
        """Write what is pending; False if a write failed (the others are still made: logging must not raise)."""
        self.acquire()  # an RLock: emit calls this holding it already
        try:
            self._scheduled_on = None
            pending, self._pending, self._chars = self._pending, [], 0
            written = True
            for chunk in _chunks(pending, _PIPE_BUF):
                try:
                    self.stream.write(chunk)
                    self.stream.flush()
                except Exception:
                    written = False
            return written
        finally:
            self.release()


def write_pending(timeout: float) -> None:
    """Write now what the root logger's buffered handlers hold, for a process about to end without another turn of
    its loop (`stop_deadline`). A handler whose lock the stuck thread holds for longer than `timeout` is left."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, TurnBuffered) and handler.lock is not None and handler.lock.acquire(timeout=timeout):
            try:
                handler.flush()
            finally:
                handler.lock.release()


_PIPE_BUF = 4096  # POSIX's minimum, Linux's value: a write up to this size is never interleaved on a pipe


def _chunks(lines: list[str], size: int) -> Iterator[str]:
    """The lines joined into runs of at most `size` characters (a longer line is a run of its own). JSON lines are
    ASCII, so characters are bytes."""
    run: list[str] = []
    length = 0
    for line in lines:
        if run and length + len(line) > size:
            yield "".join(run)
            run, length = [], 0
        run.append(line)
        length += len(line)
    if run:
        yield "".join(run)


def configure_logging(level: str) -> None:
    # A line names none of its caller's file, thread or process: not gathering them (the logging HOWTO's
    # "Optimization") takes a third off every record, and an API request writes one at least (its access line).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # On the root logger: arq's and uvicorn's loggers (uvicorn runs with log_config=None) propagate here.
    handler = TurnBuffered(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def log_to_console(*names: str) -> None:
    """The loggers `names` write plain lines on stdout, and not the JSON lines every process writes on stderr."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_ConsoleFormatter())
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
