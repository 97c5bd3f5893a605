"""/v1/schedules: recurring scans and runs, by cron (in a time zone) or interval, with optional jitter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from scanfleet.api.deps import PrincipalDep, Resources, ResourcesDep
from scanfleet.api.errors import ApiError, invalid, not_found
from scanfleet.api.fields import BODY, IdCursor, Int, Name, NulFree, TargetUrl
from scanfleet.api.jobs import Limit
from scanfleet.api.schemas import EngineField, Page, next_id
from scanfleet.checks import SuiteError, issue_path, parse_suite
from scanfleet.db import schedules
from scanfleet.db.api_keys import Principal
from scanfleet.db.schedules import Schedule
from scanfleet.model import Engine
from scanfleet.schedules.timing import Timing, TimingError

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])
UPCOMING = 5
MAX_INTERVAL_SECONDS = 31_536_000  # a year
Interval = Annotated[Int, Field(ge=1, le=MAX_INTERVAL_SECONDS, description="seconds between fires, at most a year")]
Jitter = Annotated[Int, Field(ge=0, le=3600, description="a stable random delay added to each fire")]
Cron = Annotated[
    str, Field(max_length=200, description="5 fields, read in `timezone`", examples=["0 9 * * 1-5"]), NulFree
]
Zone = Annotated[str, Field(max_length=64, examples=["Europe/Berlin"]), NulFree]


class ScheduleIn(BaseModel):
    model_config = BODY
    name: Name
    kind: Literal["scan", "run"] = Field(description="a privacy scan of `url`, or a test run of `suite`")
    url: TargetUrl | None = None
    engine: EngineField = "http"
    suite: dict[str, Any] | None = None
    cron: Cron | None = None
    timezone: Zone = "UTC"
    interval_seconds: Interval | None = None
    jitter_seconds: Jitter = 0


class ScheduleChange(BaseModel):
    model_config = BODY
    name: Name | None = None
    url: TargetUrl | None = None
    engine: EngineField | None = None
    suite: dict[str, Any] | None = None
    cron: Cron | None = None
    timezone: Zone | None = None
    interval_seconds: Interval | None = None
    jitter_seconds: Jitter | None = None


class FireOut(BaseModel):
    planned_at: datetime
    fired_at: datetime
    outcome: str
    job_id: uuid.UUID | None


class ScheduleOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    target: dict[str, Any]
    cron: str | None
    timezone: str
    interval_seconds: int | None
    jitter_seconds: int
    state: str
    next_fire_at: datetime | None
    upcoming: list[datetime] = Field(
        description=f"the next {UPCOMING} fire times: next_fire_at, then the planned times after it (before jitter)"
    )
    last_fired_at: datetime | None
    last_outcome: str | None
    fires: int
    rejected_fires: int
    recent_fires: list[FireOut] = []

    @classmethod
    def of(cls, schedule: Schedule, recent: list[FireOut] | None = None) -> ScheduleOut:
        # From the fire the scheduler will make next, not from now: an interval schedule counts from its last fire.
        upcoming = []
        if schedule.state == "active" and schedule.next_fire_at is not None:
            upcoming = [schedule.next_fire_at, *schedule.timing.upcoming(schedule.next_fire_at, UPCOMING - 1)]
        fields = {name: getattr(schedule, name) for name in cls.model_fields if hasattr(schedule, name)}
        kind = "scan" if schedule.kind == "privacy" else "run"
        return cls(**fields | {"kind": kind, "upcoming": upcoming, "recent_fires": recent or []})


def _timing(cron: str | None, timezone: str, interval: int | None, jitter: int, principal: Principal) -> Timing:
    try:
        timing = Timing(cron, timezone, interval, jitter)
    except TimingError as exc:
        raise invalid(exc.field, exc.rule, exc.message) from None
    shortest, allowed = timing.shortest_gap_seconds(datetime.now(UTC)), principal.limits.min_schedule_gap_seconds
    if shortest < allowed:
        field = "cron" if cron is not None else "interval_seconds"
        raise invalid(field, "interval_too_short",
                      f"the {principal.limits.tier} tier fires a schedule at most every {allowed}s; this fires"
                      f" {shortest:g}s apart")  # fmt: skip
    return timing


def _target(kind: str, url: str | None, suite: dict[str, Any] | None, engine: Engine = "http") -> dict[str, Any]:
    if kind == "scan":
        if url is None:
            raise invalid("url", "missing", "a scan schedule needs a url")
        return {"url": url, "engine": engine}
    if suite is None:
        raise invalid("suite", "missing", "a run schedule needs a suite")
    try:
        return parse_suite(suite).model_dump(mode="json")
    except SuiteError as exc:
        first = exc.errors[0]
        where = ".".join(part for part in ("suite", issue_path(first)) if part)
        raise invalid(where, first["rule"], first["message"]) from None


async def _own(res: Resources, principal: Principal, schedule_id: uuid.UUID) -> Schedule:
    schedule = await schedules.get(res.pool, principal.org_id, schedule_id)
    if schedule is None:
        raise not_found("schedule")
    return schedule


@router.post("", status_code=201, response_model=ScheduleOut, summary="Create a schedule")
async def create_schedule(body: ScheduleIn, res: ResourcesDep, principal: PrincipalDep) -> ScheduleOut:
    timing = _timing(body.cron, body.timezone, body.interval_seconds, body.jitter_seconds, principal)
    target = _target(body.kind, body.url, body.suite, body.engine)
    kind = "privacy" if body.kind == "scan" else "checks"
    limits = principal.limits
    created = await schedules.create(
        res.pool, principal.org_id, body.name, kind, target, timing, datetime.now(UTC), limits.max_schedules
    )
    if created is None:
        raise ApiError(422, "schedule_limit", f"the {limits.tier} tier allows {limits.max_schedules} schedules",
                       details={"limit": "max_schedules", "tier": limits.tier})  # fmt: skip
    return ScheduleOut.of(created)


@router.get("", response_model=Page[ScheduleOut], summary="The organisation's schedules, oldest first")
async def list_schedules(
    res: ResourcesDep, principal: PrincipalDep, limit: Limit = 100, cursor: IdCursor = None
) -> Page[ScheduleOut]:
    found = await schedules.list_for_org(res.pool, principal.org_id, cursor, limit)
    return Page[ScheduleOut](items=[ScheduleOut.of(schedule) for schedule in found], next_cursor=next_id(found, limit))


@router.get("/{schedule_id}", response_model=ScheduleOut, summary="A schedule, its next fire times and recent fires")
async def get_schedule(schedule_id: uuid.UUID, res: ResourcesDep, principal: PrincipalDep) -> ScheduleOut:
    schedule = await _own(res, principal, schedule_id)
    recent = [FireOut(**dict(row)) for row in await schedules.recent_fires(res.pool, schedule.id)]
    return ScheduleOut.of(schedule, recent)


@router.patch("/{schedule_id}", response_model=ScheduleOut, summary="Change a schedule")
async def update_schedule(
    schedule_id: uuid.UUID, body: ScheduleChange, res: ResourcesDep, principal: PrincipalDep
) -> ScheduleOut:
    schedule = await _own(res, principal, schedule_id)
    changes = body.model_dump(exclude_unset=True)
    cron, interval = changes.get("cron", schedule.cron), changes.get("interval_seconds", schedule.interval_seconds)
    if "cron" in changes and "interval_seconds" not in changes:
        interval = None  # a new cron replaces an interval
    elif "interval_seconds" in changes and "cron" not in changes:
        cron = None
    timing = _timing(cron, changes.get("timezone", schedule.timezone), interval,
                     changes.get("jitter_seconds", schedule.jitter_seconds), principal)  # fmt: skip
    kind = "scan" if schedule.kind == "privacy" else "run"
    target = schedule.target
    if {"url", "suite", "engine"} & changes.keys():
        engine = changes.get("engine") or target.get("engine", "http")
        url = changes.get("url", target.get("url")) if kind == "scan" else None
        target = _target(kind, url, changes.get("suite", None if kind == "scan" else target), engine)
    updated = await schedules.update(
        res.pool, schedule, datetime.now(UTC), name=changes.get("name", schedule.name), target=target,
        cron=timing.cron, timezone=timing.timezone, interval_seconds=timing.interval_seconds,
        jitter_seconds=timing.jitter_seconds,
    )  # fmt: skip
    return ScheduleOut.of(updated)


async def _set_state(schedule_id: uuid.UUID, state: str, res: Resources, principal: Principal) -> ScheduleOut:
    schedule = await _own(res, principal, schedule_id)
    return ScheduleOut.of(await schedules.update(res.pool, schedule, datetime.now(UTC), state=state))


@router.post("/{schedule_id}/pause", response_model=ScheduleOut, summary="Stop firing until resumed")
async def pause_schedule(schedule_id: uuid.UUID, res: ResourcesDep, principal: PrincipalDep) -> ScheduleOut:
    return await _set_state(schedule_id, "paused", res, principal)


@router.post("/{schedule_id}/resume", response_model=ScheduleOut, summary="Fire again, from now on")
async def resume_schedule(schedule_id: uuid.UUID, res: ResourcesDep, principal: PrincipalDep) -> ScheduleOut:
    return await _set_state(schedule_id, "active", res, principal)


@router.delete("/{schedule_id}", status_code=204, summary="Delete a schedule")
async def delete_schedule(schedule_id: uuid.UUID, res: ResourcesDep, principal: PrincipalDep) -> Response:
    if not await schedules.delete(res.pool, principal.org_id, schedule_id):
        raise not_found("schedule")
    return Response(status_code=204)
