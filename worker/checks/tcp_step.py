"""A TCP step: a guarded connect, closed again at once."""

from __future__ import annotations

from dataclasses import replace

import httpcore

from scanfleet.checks.assertions_model import TcpConnectedAssertion
from scanfleet.checks.steps import TcpStep
from scanfleet.worker.checks.attempt import Attempt
from scanfleet.worker.checks.env import SuiteRun
from scanfleet.worker.checks.probe import probe

# Failures that say the port is not open. A refused address or an unknown name says nothing about it.
_NOT_CONNECTED = frozenset({"connect_error", "timeout"})


async def execute(step: TcpStep, run: SuiteRun) -> Attempt:
    attempt = await probe(step, run, _connected)
    observation, error = attempt.observation, attempt.error
    if observation.connected:
        observation.elapsed_ms = attempt.timings.total * 1000
    elif error is not None and error.code in _NOT_CONNECTED:
        observation.connected = False
        # A tcp_connected assertion judges this (inverted, it wants exactly this): the error alone does not.
        judged = any(isinstance(assertion, TcpConnectedAssertion) for assertion in step.assertions)
        attempt.error = replace(error, decisive=not judged)
    return attempt


async def _connected(stream: httpcore.AsyncNetworkStream, attempt: Attempt) -> httpcore.AsyncNetworkStream:
    attempt.observation.connected = True
    return stream
