"""Logging for every process: one line of JSON per record, so logs can be shipped and queried. A command's own
lines for the person at the terminal (`scanfleet up`'s) are plain text on stdout instead.

Every line carries the ids bound where it was written (request_id, org_id, job_id, task) and the current span's
trace_id and span_id: an API request's lines and those of the job it caused share request_id, org_id and trace_id.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from scanfleet import tracing

# One dict per bound block; `annotate` fills in the innermost, which tasks started inside it share.
_ids: ContextVar[dict[str, str] | None] = ContextVar("scanfleet_log_ids", default=None)

CARRIED = ("request_id", "org_id")  # the ids a job carries from its cause, with the trace's traceparent


def _strings(ids: Mapping[str, object]) -> dict[str, str]:
    return {key: str(value) for key, value in ids.items() if value is not None}


def current() -> dict[str, str]:
    return dict(_ids.get() or {})


@contextmanager
def bind(**ids: object) -> Iterator[None]:
    """Add ids (None ones are left out) to every line logged inside the block, and in tasks it starts."""
    token = _ids.set({**(_ids.get() or {}), **_strings(ids)})
    try:
        yield
    finally:
        _ids.reset(token)


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


def configure_logging(level: str) -> None:
    # On the root logger: arq's and uvicorn's loggers (uvicorn runs with log_config=None) propagate here.
    handler = logging.StreamHandler(sys.stderr)
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
