"""A scheduled fire's job carries its organisation and a trace of its own to the worker that runs it."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from arq.connections import ArqRedis
from arq.jobs import Job

from scanfleet import tracing
from scanfleet.broker.gate import Gate
from scanfleet.scheduler import firing
from tests.conftest import Tenant
from tests.integration.schedules.test_schedules import due_schedule, fires_of
from tests.support.app import lifecycle


async def test_a_fired_job_carries_the_org_id_and_a_traceparent(
    pool: asyncpg.Pool, queue: ArqRedis, gate: Gate, tenant: Tenant
) -> None:
    schedule_ids = [await due_schedule(pool, tenant, timedelta(seconds=5)) for _ in range(2)]
    await firing.fire_due(pool, lifecycle(pool, gate))
    contexts = []
    for schedule_id in schedule_ids:
        [fire] = await fires_of(pool, schedule_id)
        info = await Job(f"job:{fire['job_id']}", queue).info()
        assert info is not None
        contexts.append(info.kwargs["context"])
    assert [sorted(context) for context in contexts] == [["org_id", "traceparent"]] * 2  # no request caused them
    assert {context["org_id"] for context in contexts} == {str(tenant.org.id)}
    parents = [tracing.parse(context["traceparent"]) for context in contexts]
    assert all(parents) and len({parent.trace_id for parent in parents if parent}) == 2  # a trace per fire
