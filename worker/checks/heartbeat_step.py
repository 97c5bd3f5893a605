"""A heartbeat step: asks the host process for the heartbeat's state; its one assertion is "on time"."""

from __future__ import annotations

import time

from scanfleet.checks.steps import HeartbeatStep
from scanfleet.worker.checks.attempt import Attempt, Observation, StepError
from scanfleet.worker.checks.env import SuiteRun
from scanfleet.worker.checks.timing import Timings


async def execute(step: HeartbeatStep, run: SuiteRun) -> Attempt:
    started = time.perf_counter()
    state = await run.env.heartbeat(step.heartbeat_id)  # our own store: its failures are ours, and raise
    observation = Observation(observed_at=run.env.now(), heartbeat=state)
    attempt = Attempt(observation, Timings(total=time.perf_counter() - started))
    attempt.request = {"heartbeat_id": str(step.heartbeat_id)}
    if state is None:
        attempt.error = StepError("heartbeat_unknown", f"no heartbeat {step.heartbeat_id}")
        return attempt
    due = state.due_by()
    attempt.extra["heartbeat"] = {
        "last_ping_at": state.last_ping_at.isoformat() if state.last_ping_at else None,
        "period_seconds": state.period_seconds,
        "grace_seconds": state.grace_seconds,
        "due_by": due.isoformat() if due else None,
    }
    return attempt
