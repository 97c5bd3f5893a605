"""Across an organisation's scans: which scans saw a domain, and per-day statistics."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from scanfleet.api.deps import PrincipalDep, ResourcesDep
from scanfleet.api.errors import invalid
from scanfleet.api.fields import Day, DomainCursor, NulFree, domain_cursor, domain_position
from scanfleet.api.schemas import Page
from scanfleet.db import insights

router = APIRouter(prefix="/v1", tags=["insights"])

MAX_RANGE_DAYS = 366
First = Annotated[Day | None, Query(alias="from", description="first day (UTC); default 29 days before 'to'")]
Last = Annotated[Day | None, Query(alias="to", description="last day (UTC), included; default today")]


class DomainScanOut(BaseModel):
    scan_id: uuid.UUID
    created_at: datetime
    url: str
    status: str
    tracker: bool
    vendor: str | None


class DayStats(BaseModel):
    day: date
    scans: dict[str, int]
    issues: dict[str, int]


class StatsOut(BaseModel):
    first: date
    last: date
    days: list[DayStats]
    in_flight: dict[str, int]


def _day_range(first: date | None, last: date | None) -> tuple[date, date]:
    last = last or datetime.now(UTC).date()
    first = first or last - timedelta(days=29)
    if first > last:
        raise invalid("from", "range_order", "must not be after 'to'")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise invalid("from", "range_too_long", f"at most {MAX_RANGE_DAYS} days")
    return first, last


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


@router.get(
    "/domains/{domain}/scans", response_model=Page[DomainScanOut],
    summary="The organisation's scans that referenced a third-party or tracker domain, newest first",
)  # fmt: skip
async def scans_seeing_domain(
    res: ResourcesDep, principal: PrincipalDep,
    domain: Annotated[
        str, Path(min_length=1, max_length=253, description="registrable domain, e.g. hotjar.com"), NulFree
    ],
    first: First = None, last: Last = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, cursor: DomainCursor = None,
) -> Page[DomainScanOut]:  # fmt: skip
    first, last = _day_range(first, last)
    # The replica: these rows are written with a scan's result; one finished within the lag shows up a moment later.
    rows, after = await insights.scans_seeing(
        res.reads, principal.org_id, domain.lower(), _midnight(first), _midnight(last + timedelta(days=1)),
        domain_position(cursor), limit,
    )  # fmt: skip
    items = [
        DomainScanOut(scan_id=r["scan_id"], created_at=r["scan_created_at"], url=r["url"], status=r["status"],
                      tracker=r["tracker"], vendor=r["vendor"])
        for r in rows
    ]  # fmt: skip
    next_cursor = domain_cursor(*after) if after else None
    return Page[DomainScanOut](items=items, next_cursor=next_cursor)


@router.get("/stats", response_model=StatsOut, summary="Scans by status and issues by severity, per day")
async def stats(
    res: ResourcesDep, principal: PrincipalDep,
    first: First = None, last: Last = None,
) -> StatsOut:  # fmt: skip
    first, last = _day_range(first, last)
    # The replica: daily rollups and in-flight counts are a dashboard's view, a moment behind is fine.
    by_day = await insights.daily_stats(res.reads, principal.org_id, first, last)
    days = [DayStats(day=day, **by_day[day]) for day in sorted(by_day)]
    return StatsOut(first=first, last=last, days=days, in_flight=await insights.in_flight(res.reads, principal.org_id))
