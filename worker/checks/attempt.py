"""One attempt at a step: what it observed (all assertions read), its timings and how it failed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx

from scanfleet.checks import HeartbeatState
from scanfleet.checks.actions import Extract
from scanfleet.checks.steps import Extraction
from scanfleet.http import TlsInfo
from scanfleet.model import Attachment
from scanfleet.worker.checks.timing import Timings

if TYPE_CHECKING:  # assertions.py reads the Observation defined here
    from scanfleet.worker.checks.assertions import AssertionResult

REDACTED = "[redacted]"


@dataclass(frozen=True)
class StepError:
    code: str  # timeout, connect_error, dns_error, blocked_address, tls_error, protocol_error, invalid_url, …
    message: str
    # Fails the step by itself. Not so where an assertion judges the failure: a port expected closed.
    decisive: bool = True


@dataclass
class Observation:
    observed_at: datetime
    elapsed_ms: float | None = None  # what response_time assertions read; None if the step got nowhere
    host: str | None = None
    status: int | None = None
    headers: httpx.Headers | None = None
    text: str | None = None  # the body, decoded, at most max_body_bytes of it
    certificate: TlsInfo | None = None
    connected: bool | None = None  # None: not known (the guard refused, the name did not resolve)
    heartbeat: HeartbeatState | None = None

    @cached_property
    def json(self) -> tuple[bool, Any]:
        """(whether the body is JSON, the parsed body): parsed once, however many assertions read it."""
        if self.text is None:
            return False, None
        try:
            return True, json.loads(self.text)
        except ValueError:
            return False, None


@dataclass
class Attempt:
    observation: Observation
    timings: Timings
    error: StepError | None = None
    location: str | None = None  # the URL, or host:port
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # evidence of one step kind: redirects, certificate, …
    # A step that judges its own assertions in its course (a browser step's, between its actions), and what
    # it extracted on the way; the runner adds the judgements of the step's own `assertions` and `extract`.
    judged: list[AssertionResult] = field(default_factory=list)
    extracted: list[tuple[Extraction | Extract, str | None]] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)  # values it handled that no stored result may show
    attachments: list[Attachment] = field(default_factory=list)
