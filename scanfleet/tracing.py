"""Trace context (W3C traceparent) for every request and job, so that their log lines correlate across processes.

Without configuration a span is only a pair of ids. With the `otel` extra installed and `configure` given an OTLP
endpoint, spans are real OpenTelemetry spans, exported; the SDK is imported only then.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Literal, NamedTuple

log = logging.getLogger(__name__)

Kind = Literal["server", "producer", "consumer"]

_LOWER_HEX = re.compile(r"[0-9a-f]+")


class TraceParent(NamedTuple):  # a tuple, not a frozen dataclass: every request and job makes one or two
    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    sampled: bool = True

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def child(self) -> TraceParent:
        return TraceParent(self.trace_id, random_hex(16), self.sampled)

    @staticmethod
    def root() -> TraceParent:
        return TraceParent(random_hex(32), random_hex(16))


def random_hex(digits: int) -> str:
    """Random lowercase hex, never all zeros. Ids for correlation, not secrets: from the process's own generator
    (which a forked child reseeds), not a system call per id."""
    return f"{random.getrandbits(digits * 4) or 1:0{digits}x}"


def parse(header: str | None) -> TraceParent | None:
    """The ids in a traceparent header, or None when it is absent or malformed (the span then starts a trace)."""
    if not header:
        return None
    parts = header.strip().split("-")
    if len(parts) < 4:
        return None
    version, trace_id, span_id, flags = parts[:4]
    if [len(version), len(trace_id), len(span_id), len(flags)] != [2, 32, 16, 2]:
        return None
    if not all(_LOWER_HEX.fullmatch(part) for part in parts[:4]):
        return None
    # Version ff is forbidden; version 00 has exactly four fields (later versions may append some).
    if version == "ff" or (version == "00" and len(parts) != 4):
        return None
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return TraceParent(trace_id, span_id, sampled=bool(int(flags, 16) & 1))


_current: ContextVar[TraceParent | None] = ContextVar("scanfleet_trace", default=None)
_tracer: Any = None  # an OpenTelemetry Tracer once configured; None: ids only


def current() -> TraceParent | None:
    """The innermost span's ids, what a job caused here carries as its parent."""
    return _current.get()


class Span:
    """The open span: its ids, and (with OpenTelemetry) the span to name and annotate once the outcome is known."""

    def __init__(self, trace: TraceParent, otel: Any = None) -> None:
        self.trace = trace
        self._otel = otel

    @property
    def exported(self) -> bool:
        """Whether `finish` records anything (with OpenTelemetry only): its attributes need not be made otherwise."""
        return self._otel is not None

    def finish(self, name: str, error: bool = False, **attributes: str | int) -> None:
        if self._otel is None:
            return
        from opentelemetry.trace import StatusCode

        self._otel.update_name(name)
        self._otel.set_attributes(attributes)
        if error:
            self._otel.set_status(StatusCode.ERROR)


def span(name: str, parent: TraceParent | None, kind: Kind, **attributes: str) -> _Block:
    """A span continuing `parent` (a new trace when None) around the block; its ids are `current()` inside."""
    return _Block(_otel_span(name, parent, kind, attributes) if _tracer is not None else None, parent)


class _Block:
    """A class rather than a generator: without OpenTelemetry a span is its ids alone, and every request opens one."""

    _token: Token[TraceParent | None]

    def __init__(self, otel: AbstractContextManager[Span] | None, parent: TraceParent | None) -> None:
        self._otel = otel
        self._parent = parent

    def __enter__(self) -> Span:
        if self._otel is None:
            opened = Span(self._parent.child() if self._parent else TraceParent.root())
        else:
            opened = self._otel.__enter__()
        self._token = _current.set(opened.trace)
        return opened

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            _current.reset(self._token)
        finally:
            if self._otel is not None:
                self._otel.__exit__(kind, error, traceback)


@contextmanager
def _otel_span(name: str, parent: TraceParent | None, kind: Kind, attributes: Mapping[str, str]) -> Iterator[Span]:
    from opentelemetry import trace

    active = trace.get_current_span()
    if kind == "server" and active.get_span_context().is_valid:
        # The framework (or an ASGI instrumentation) opened the request's span already: that one is the request.
        active.set_attributes(attributes)
        yield Span(_ids_of(active))
        return
    context = None
    if parent is not None:
        remote = trace.SpanContext(
            int(parent.trace_id, 16), int(parent.span_id, 16), is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if parent.sampled else trace.TraceFlags.DEFAULT),
        )  # fmt: skip
        context = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    kinds = {"server": trace.SpanKind.SERVER, "producer": trace.SpanKind.PRODUCER, "consumer": trace.SpanKind.CONSUMER}
    with _tracer.start_as_current_span(name, context=context, kind=kinds[kind], attributes=attributes) as opened:
        yield Span(_ids_of(opened), opened)


def _ids_of(otel_span: Any) -> TraceParent:
    ids = otel_span.get_span_context()
    return TraceParent(f"{ids.trace_id:032x}", f"{ids.span_id:016x}", sampled=ids.trace_flags.sampled)


def use(provider: Any | None) -> None:
    """Make spans with this OpenTelemetry TracerProvider (None: back to ids only)."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer("scanfleet")


def configure(endpoint: str | None, service: str) -> None:
    """Export this process's spans over OTLP/HTTP to `endpoint` (the collector's base URL), if one is given."""
    if not endpoint:
        return
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("an OTLP endpoint is set but the otel extra is not installed: logs carry trace ids, no spans")
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    # Global too, so the web framework's own request spans and any installed instrumentation join these traces.
    trace.set_tracer_provider(provider)
    use(provider)
