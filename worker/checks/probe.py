"""What TCP and TLS steps share: a guarded connect to host:port, timed, within the step's timeout, closed
again whatever happens; failures become the attempt's error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpcore

from scanfleet.checks import TcpStep, TlsStep
from scanfleet.http.failures import TARGET_ERRORS, classify
from scanfleet.http.guard import resolve_seconds
from scanfleet.worker.checks.attempt import Attempt, Observation, StepError
from scanfleet.worker.checks.env import SuiteRun
from scanfleet.worker.checks.timing import Timings

# Given the connected stream, does the step's work on it and returns the stream to close (TLS wraps it).
StreamUse = Callable[[httpcore.AsyncNetworkStream, Attempt], Awaitable[httpcore.AsyncNetworkStream]]


async def probe(step: TcpStep | TlsStep, run: SuiteRun, use: StreamUse) -> Attempt:
    observation = Observation(observed_at=run.env.now(), host=step.host)
    timings = Timings()
    target = {"host": step.host, "port": step.port}
    attempt = Attempt(observation, timings, location=f"{step.host}:{step.port}", request=target)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(step.timeout_seconds):
            stream = await _connect(run, step, timings)
            try:
                stream = await use(stream, attempt)
            finally:
                await stream.aclose()
    except TARGET_ERRORS as exc:
        failure = classify(exc, step.timeout_seconds)
        attempt.error = StepError(failure.code, failure.message)
    timings.total = time.perf_counter() - started
    return attempt


async def _connect(run: SuiteRun, step: TcpStep | TlsStep, timings: Timings) -> httpcore.AsyncNetworkStream:
    """The guard leaves its DNS time in a context variable: split it off the connect time, even on failure."""
    resolve_seconds.set(0.0)
    started = time.perf_counter()
    try:
        return await run.env.backend.connect_tcp(step.host, step.port, timeout=step.timeout_seconds)
    finally:
        timings.dns = resolve_seconds.get()
        timings.connect = time.perf_counter() - started - timings.dns
