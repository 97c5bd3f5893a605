"""Submitting a job through the lifecycle, and how the API answers one it did not accept."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from scanfleet import logs
from scanfleet.api.errors import RETRY_AFTER_SECONDS, ApiError
from scanfleet.db.api_keys import Principal
from scanfleet.db.errors import unavailable
from scanfleet.lifecycle import GateUnavailable, NotMade, Refused
from scanfleet.tiers import limits_for

log = logging.getLogger(__name__)


@asynccontextmanager
async def answering_refusals() -> AsyncIterator[None]:
    """Around a lifecycle submission: a full line is a 429 naming the limit, an unreachable queue a 503.

    Either way nothing was accepted: the lifecycle forgot the row before raising."""
    try:
        yield
    except (GateUnavailable, Refused) as exc:
        raise refusal(exc) from exc


def refusal(exc: GateUnavailable | Refused | NotMade) -> ApiError:
    if isinstance(exc, GateUnavailable):
        return ApiError(503, "queue_unavailable", "the job queue cannot be reached; try again", {"Retry-After": "5"})
    if isinstance(exc, NotMade):
        return _not_made(exc)
    return _queue_full(exc)


def _not_made(exc: NotMade) -> ApiError:
    """One URL of a batch whose row PostgreSQL did not make, while it made others'."""
    if unavailable(exc.cause):
        message = "the database cannot be reached; nothing was accepted, try again shortly"
        return ApiError(503, "unavailable", message, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.error("a scan's row could not be made", exc_info=exc.cause)
    return ApiError(500, "internal_error", "this URL's scan could not be stored; nothing of it was accepted")


def _queue_full(exc: Refused) -> ApiError:
    limits, admission = exc.limits, exc.admission
    tiers = limits_for(limits.tier).of_engine(exc.engine)  # the line's limits by the tier alone
    own = (limits.max_running, limits.max_queued) != (tiers.max_running, tiers.max_queued)
    whose = "this organisation's own limits allow" if own else f"the {limits.tier} tier allows"
    what = "browser scans and runs" if exc.engine == "browser" else "jobs"
    return ApiError(
        429,
        "queue_full",
        f"{whose} {limits.max_running} running and {limits.max_queued} queued {what};"
        f" {admission.running} are running and {admission.queued} queued",
        {"Retry-After": str(exc.retry_after_seconds)},
        details={"limit": "max_queued", "tier": limits.tier, "max_running": limits.max_running,
                 "max_queued": limits.max_queued, "running": admission.running, "queued": admission.queued},
    )  # fmt: skip


def context(principal: Principal) -> dict[str, str]:
    """What the job carries from this request: its ids, and its span as the parent of the worker's."""
    return logs.propagated(org_id=principal.org_id)
