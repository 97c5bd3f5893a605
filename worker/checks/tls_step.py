"""A TLS step: a guarded connect, a handshake that verifies the chain, the certificate as evidence."""

from __future__ import annotations

import ssl
import time
from dataclasses import asdict
from datetime import datetime
from functools import partial
from typing import Any

import httpcore

from scanfleet.checks.steps import TlsStep
from scanfleet.http import TlsInfo, tls_info
from scanfleet.worker.checks.attempt import Attempt
from scanfleet.worker.checks.env import SuiteRun
from scanfleet.worker.checks.probe import probe
from scanfleet.worker.privacy.tls import days_left


def check_context(cafile: str | None = None) -> ssl.SSLContext:
    """The context TLS steps want: the chain verified against the system's CAs (or `cafile`), the hostname
    left to the cert_hostname assertion, so a mismatch still reports issuer and expiry."""
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False  # verify_mode stays CERT_REQUIRED
    return context


async def execute(step: TlsStep, run: SuiteRun) -> Attempt:
    attempt = await probe(step, run, partial(_handshake, step, run.env.ssl_context))
    observation = attempt.observation
    if observation.certificate is not None:
        observation.elapsed_ms = attempt.timings.total * 1000
        attempt.extra["certificate"] = _certificate(observation.certificate, observation.observed_at)
    return attempt


async def _handshake(
    step: TlsStep, context: ssl.SSLContext, stream: httpcore.AsyncNetworkStream, attempt: Attempt
) -> httpcore.AsyncNetworkStream:
    started = time.perf_counter()
    secured = await stream.start_tls(context, server_hostname=step.host, timeout=step.timeout_seconds)
    attempt.timings.tls = time.perf_counter() - started
    attempt.observation.certificate = tls_info(secured.get_extra_info("ssl_object"))
    return secured


def _certificate(info: TlsInfo, now: datetime) -> dict[str, Any]:
    details = asdict(info)
    for moment in ("not_before", "not_after"):
        details[moment] = details[moment].isoformat() if details[moment] else None
    details["days_left"] = days_left(info.not_after, now) if info.not_after else None
    return details
