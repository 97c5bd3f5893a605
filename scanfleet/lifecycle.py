"""The job lifecycle: the only way a job changes state.

    submit ──▶ row (dedup lock) ──▶ admit ──▶ dispatched | waiting ──▶ claim (running)
                                      │refused: row forgotten, 429         │
                                      ▼                                     ├─▶ finish: blobs, outcome + outbox, slot
                                 Refused                                    ├─▶ retry: row queued, slot set aside
                                                                            ├─▶ defer: row given back, slot set aside
    readmit (reconciliation) ──▶ admit, forced                              └─▶ hand back: row and slot for another

PostgreSQL (the JobStore) is the truth and is written first; the broker's gate is transport and follows. Each
step's order across the two is decided here once; the API, the scheduler and the worker call these steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar, cast

from scanfleet import logs, metrics
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.broker import jobs as broker_jobs
from scanfleet.broker.gate import Admission
from scanfleet.broker.keys import job_id as broker_id
from scanfleet.checks import suite_engine
from scanfleet.model import ENGINES, Engine, Job, Kind, Outcome, Status
from scanfleet.tiers import Limits

log = logging.getLogger(__name__)

T = TypeVar("T")
Hold = Callable[[Callable[[], Awaitable[T]]], Awaitable[T]]


class JobStore(Protocol):
    """What the lifecycle needs of the job rows (scanfleet.db.store.PgJobStore; MemoryJobStore in tests)."""

    async def create_scan(
        self, org_id: uuid.UUID, url: str, engine: Engine, reuse_seconds: float, within: Any = None
    ) -> tuple[Job, str | None]: ...
    async def create_run(
        self, org_id: uuid.UUID, suite: dict[str, Any], engine: Engine = "http", within: Any = None
    ) -> Job: ...
    async def forget(self, job: Job) -> None: ...
    async def claim(self, job_id: uuid.UUID, lease_seconds: float) -> Job | None: ...
    async def retry_later(self, job: Job, error_code: str, error_message: str) -> bool: ...
    async def hand_back(self, job: Job) -> None: ...
    async def record(self, job: Job, outcome: Outcome, within: Any = None) -> bool: ...
    async def is_final(self, job_id: uuid.UUID) -> bool: ...
    async def cancel(self, org_id: uuid.UUID, job_id: uuid.UUID) -> Job | None: ...
    async def unfinished(self, created_before: datetime, after: Job | None, limit: int) -> list[Job]: ...
    async def statuses(self, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, Status]: ...
    async def limits_of(self, org_id: uuid.UUID) -> Limits | None: ...


class Gate(Protocol):
    """What the lifecycle needs of the broker's capacity gate (scanfleet.broker.gate.Gate)."""

    async def admit(
        self, org_id: uuid.UUID, job_id: str, payload: bytes, limits: Limits, *, force: bool = False
    ) -> Admission: ...
    async def start(self, job_id: str, lease_seconds: float, holder: str = "") -> str | None: ...
    async def renew(self, job_id: str, lease_seconds: float, holder: str = "") -> bool: ...
    async def finish(self, job_id: str, duration_seconds: float | None = None, holder: str = "") -> list[str]: ...
    async def defer(self, job_id: str, due: float, waiting_on: str = "", holder: str = "") -> bool: ...
    async def handback(self, job_id: str, holder: str = "") -> bool: ...
    async def cancel(self, job_id: str) -> str: ...
    async def retry_after_seconds(self, limits: Limits) -> int: ...
    async def wake_waiting(self, waiting_on: str) -> int: ...
    async def set_limits(self, org_id: uuid.UUID, limits: Limits) -> list[str]: ...


class Refused(Exception):
    """The organisation's line is full: the job was not accepted, and nothing of it remains."""

    def __init__(self, admission: Admission, limits: Limits, retry_after_seconds: int, engine: Engine) -> None:
        super().__init__(f"{limits.tier} tier: {admission.running} running, {admission.queued} queued")
        self.admission, self.limits, self.retry_after_seconds = admission, limits, retry_after_seconds
        self.engine = engine  # whose line was full: `limits` are that line's


class GateUnavailable(Exception):
    """The broker could not be reached: the job was not accepted, and nothing of it remains."""


class NotMade(Exception):
    """The job's row could not be made (`cause`: PostgreSQL away, or refusing it): nothing of it was accepted."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def workers_lost(max_tries: int) -> Outcome:
    """The end of a job whose worker died with it every time: a job must not crash the fleet forever."""
    return Outcome.failed("attempts_exhausted", f"the job's worker stopped {max_tries} times before finishing it")


def unwritable(exc: BaseException) -> Outcome:
    """The end of a job whose result PostgreSQL refused for what it holds: writing it again would fail again."""
    return Outcome.failed("result_unwritable", f"the result could not be stored ({type(exc).__name__})")


async def _now(operation: Callable[[], Awaitable[T]]) -> T:
    return await operation()


@dataclass
class Lifecycle:
    store: JobStore
    gate: Gate  # the http engine's line, and test runs'
    lease_seconds: float = 15.0
    # How the worker's writes wait out a PostgreSQL outage (worker.outage.OutageGuard.write); elsewhere at once.
    hold: Hold[Any] = _now
    # What counts as the broker being away (the broker's connection errors), for GateUnavailable.
    unreachable: tuple[type[BaseException], ...] = (OSError,)
    # Browser scans' own line and queue (scanfleet.broker.keys.BROWSER_GATE); None where none may be submitted.
    browser_gate: Gate | None = None
    # Where finished jobs' attachments go (workers); None: a process that finishes no job with attachments.
    artifacts: ArtifactWriter | None = None

    def gate_for(self, engine: Engine) -> Gate:
        if engine == "http":
            return self.gate
        if self.browser_gate is None:
            raise RuntimeError("this process has no browser gate")
        return self.browser_gate

    @property
    def gates(self) -> list[Gate]:
        return [self.gate] if self.browser_gate is None else [self.gate, self.browser_gate]

    # -- accepting work -------------------------------------------------------------------------------------

    async def submit_scan(
        self, org_id: uuid.UUID, limits: Limits, url: str, engine: Engine, reuse_seconds: float,
        context: dict[str, str],
    ) -> tuple[Job, str | None]:  # fmt: skip
        """A new scan of `url` by `engine`, admitted; or the scan reused (in flight, or recent unless
        reuse_seconds is 0)."""
        job, reused = await self.store.create_scan(org_id, url, engine, reuse_seconds)
        if reused is None:
            await self.admit(job, limits, context)
        return job, reused

    async def submit_scans(
        self, org_id: uuid.UUID, limits: Limits, targets: Sequence[str], engine: Engine, reuse_seconds: float,
        context: dict[str, str],
    ) -> list[tuple[Job, str | None] | Refused | GateUnavailable | NotMade]:  # fmt: skip
        """As submit_scan, for each of `targets`, each to its own outcome: the rows made together (they may share
        one commit), then each new one admitted in turn (a full line refuses the rest). A URL given twice has its
        first's outcome twice. A row that could not be made is that URL's NotMade; when none could be, the call
        fails as submit_scan would. Should the call fail or be cancelled part way, no row it made is left that was
        not handed to the gate."""
        made = await asyncio.gather(
            *(self.store.create_scan(org_id, url, engine, reuse_seconds) for url in targets), return_exceptions=True
        )
        for entry in made:
            if isinstance(entry, BaseException) and not isinstance(entry, Exception):
                raise entry  # a write cancelled: so is the call
        rows = [entry for entry in made if not isinstance(entry, BaseException)]
        if made and not rows:
            raise cast(Exception, made[0])
        # The scans to admit, in order, each once (a URL given twice: made once, then reused).
        new = list({job.id: job for job, reused in rows if reused is None}.values())
        refused: dict[uuid.UUID, Refused | GateUnavailable] = {}
        handed = 0
        try:
            for job in new:
                try:
                    await self.admit(job, limits, context)
                except (Refused, GateUnavailable) as exc:
                    refused[job.id] = exc
                handed += 1
        finally:
            # Failed or cancelled before these were admitted: forgotten, as a refused one is.
            left = new[handed:]
            if left:
                await asyncio.shield(asyncio.gather(*(self.store.forget(job) for job in left)))
        return [
            NotMade(entry) if isinstance(entry, BaseException) else refused.get(entry[0].id, entry) for entry in made
        ]

    async def submit_run(
        self, org_id: uuid.UUID, limits: Limits, suite: dict[str, Any], context: dict[str, str]
    ) -> Job:
        job = await self.store.create_run(org_id, suite, suite_engine(suite))
        await self.admit(job, limits, context)
        return job

    async def record_finished_run(
        self, org_id: uuid.UUID, suite: dict[str, Any], outcome: Outcome, within: Any = None
    ) -> Job:
        """A run that ended as it began (a heartbeat's missed deadline): its row and outcome, never queued."""
        job = await self.store.create_run(org_id, suite, within=within)
        await self.store.record(job, outcome, within=within)
        return job

    async def admit(
        self, job: Job, limits: Limits, context: dict[str, str] | None = None, *, force: bool = False
    ) -> Admission:
        """Hand the job's row, already committed (a worker must find it), to the gate. Refused or unreachable, the
        row is forgotten, so nothing of a job that was not accepted stays runnable. `force`: accepted long ago
        (reconciliation), never refused now."""
        payload = broker_jobs.payload(job.kind, job.id, context, job.engine)
        gate, limits = self.gate_for(job.engine), limits.of_engine(job.engine)
        try:
            admission = await gate.admit(job.org_id, broker_id(job.id), payload, limits, force=force)
        except self.unreachable as exc:
            await self.store.forget(job)
            raise GateUnavailable(str(exc)) from exc
        metrics.ADMISSIONS.labels(limits.tier, admission.outcome).inc()
        with logs.bind(org_id=job.org_id, job_id=broker_id(job.id)):
            log.info("%s job %s", job.kind, admission.outcome)
        if admission.outcome == "rejected":
            await self.store.forget(job)
            raise Refused(admission, limits, await gate.retry_after_seconds(limits), job.engine)
        return admission

    async def apply_limits(self, org_id: uuid.UUID, limits: Limits) -> None:
        """The organisation's new limits, in each engine's line at once: a raised running limit dispatches its
        waiting jobs now."""
        for engine in ENGINES:
            if engine == "http" or self.browser_gate is not None:
                await self.gate_for(engine).set_limits(org_id, limits.of_engine(engine))

    async def cancel(self, org_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
        """Cancel an unfinished job: its row first (final at once), then the gate, which aborts a running one."""
        cancelled = await self.store.cancel(org_id, job_id)
        if cancelled is not None:
            await self.gate_for(cancelled.engine).cancel(broker_id(job_id))
        return cancelled

    async def readmit(self, job: Job, limits: Limits, max_tries: int) -> str:
        """An unfinished job the gate lost (Redis lost it, or an API died between row and admission): admitted
        again, never refused; or ended, if its workers died with it `max_tries` times."""
        if job.status == "running" and job.crashes >= max_tries:
            await self.store.record(job, workers_lost(max_tries))
            return "exhausted"
        await self.admit(job, limits, force=True)
        return "readmitted"

    # -- running work ----------------------------------------------------------------------------------------

    async def wake(self, waiting_on: str) -> int:
        """What deferred jobs waited for ended (a circuit closed): they are due now."""
        return sum([await gate.wake_waiting(waiting_on) for gate in self.gates])

    def delivery(self, job_id: uuid.UUID, kind: Kind, engine: Engine = "http") -> Delivery:
        return Delivery(self, job_id, kind, engine)


class Delivery:
    """One delivery of a job to a worker, used as `async with`: it holds the job's lease, renewed while it runs,
    and the job ends it exactly one way (finish, retry, defer, duplicate).

    A delivery that raises keeps its slot: arq delivers it again. Cancelled, it frees the slot only if the job
    really ended (a user's cancel made the row final); cancelled by a stopping worker, it is handed back, row and
    slot, for another worker, and the attempt is not counted.
    """

    def __init__(self, lifecycle: Lifecycle, job_id: uuid.UUID, kind: Kind, engine: Engine) -> None:
        self._life = lifecycle
        self._gate = lifecycle.gate_for(engine)
        self.id, self.kind, self.engine = job_id, kind, engine
        self._broker_id = broker_id(job_id)
        # This run: once its lease is reaped and the job runs elsewhere, its steps are ignored.
        self._holder = uuid.uuid4().hex
        self._started = time.perf_counter()
        self._renewer: asyncio.Task[None] | None = None
        self.job: Job | None = None  # the claimed row
        self.ended: str | None = None  # how it ended: finished, retry, deferred, duplicate, handed back

    async def __aenter__(self) -> Delivery:
        await self._gate.start(self._broker_id, self._life.lease_seconds, self._holder)
        self._renewer = asyncio.create_task(self._renew_forever())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop_renewing()
        if isinstance(exc, asyncio.CancelledError) and self.ended is None:
            await asyncio.shield(self._cancelled())

    async def claim(self, lease_seconds: float) -> Job | None:
        """The row, running for this delivery; None when it is final already (a duplicate delivery). The row's
        own lease outlives the job's time limit: past it, the scheduler knows the worker is gone."""
        self.job = await self._life.store.claim(self.id, lease_seconds)
        return self.job

    async def finish(self, outcome: Outcome) -> Outcome | None:
        """Store the outcome's attachments, then write the outcome with its evidence, artifact rows and webhook
        events, then free the slot and dispatch the org's next job. The artifact store down raises StoreUnavailable
        with nothing written (the job is the caller's to defer). Returns the outcome written; None when another
        delivery had written one already. A result that PostgreSQL refuses for what it holds is not a crash to
        redeliver: the job fails once, with a code."""
        job = self._claimed()
        outcome = await self._store_attachments(job, outcome)
        try:
            written = await self._life.hold(lambda: self._life.store.record(job, outcome))
        except Exception as exc:
            if not _refused_data(exc):
                raise
            log.error("the result of %s could not be stored: %r", job.id, exc)
            outcome = unwritable(exc)
            written = await self._life.hold(lambda: self._life.store.record(job, outcome))
        await self._end("finished")
        await self._gate.finish(self._broker_id, time.perf_counter() - self._started, self._holder)
        return outcome if written else None

    async def _store_attachments(self, job: Job, outcome: Outcome) -> Outcome:
        """Blobs first, outside the result's transaction: a crash before it commits leaves blobs no row
        references, which the sweep removes, and never a row without its blob."""
        if not outcome.attachments:
            return outcome
        writer = self._life.artifacts
        kept = await writer.write(job.org_id, outcome.attachments) if writer is not None else []
        return replace(outcome, attachments=kept)

    async def duplicate(self) -> None:
        """The row was final already: only the slot is left to free."""
        await self._end("duplicate")
        await self._gate.finish(self._broker_id, holder=self._holder)

    async def retry(self, outcome: Outcome, delay_seconds: float) -> None:
        """A transient failure: the row goes back to queued with one retry used, the slot is set aside."""
        job = self._claimed()
        code, message = outcome.error_code or "", outcome.error_message or ""
        await self._life.hold(lambda: self._life.store.retry_later(job, code, message))
        await self._set_aside("retry", time.time() + delay_seconds)

    async def defer(self, until: float, waiting_on: str = "") -> None:
        """Not this delivery's to run now (its target's circuit is open): the row is given back without using an
        attempt, the slot set aside until `until` or until `waiting_on` ends."""
        job = self._claimed()
        await self._life.hold(lambda: self._life.store.hand_back(job))
        await self._set_aside("deferred", until, waiting_on)

    async def defer_unclaimed(self, until: float) -> None:
        """The row could not even be claimed (PostgreSQL away): only the slot is set aside."""
        await self._set_aside("deferred", until)

    def _claimed(self) -> Job:
        if self.job is None:
            raise RuntimeError("claim the job first")
        return self.job

    async def _set_aside(self, ended: str, until: float, waiting_on: str = "") -> None:
        await self._end(ended)
        await self._gate.defer(self._broker_id, until, waiting_on, self._holder)

    async def _end(self, how: str) -> None:
        self.ended = how
        await self._stop_renewing()

    async def _cancelled(self) -> None:
        try:
            if await self._life.store.is_final(self.id):  # a user's cancel ended it: its slot is free to go
                self.ended = "cancelled"
                await self._gate.finish(self._broker_id, holder=self._holder)
                return
            if self.job is not None:
                await self._life.store.hand_back(self.job)
        except Exception:
            # Handed back or not, the job runs again; at worst its attempt count stays one higher.
            log.warning("could not record how %s was cancelled", self.id, exc_info=True)
        self.ended = "handed back"
        metrics.JOBS_HANDED_BACK.labels(broker_jobs.task_of(self.kind, self.engine)).inc()
        await self._gate.handback(self._broker_id, self._holder)

    async def _renew_forever(self) -> None:
        lease = self._life.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                if not await self._gate.renew(self._broker_id, lease, self._holder):
                    log.warning("the lease of %s was taken from this run; it runs elsewhere now", self.id)
                    return
            except Exception:
                # One missed renewal is not fatal: the lease has two more periods to run.
                log.warning("could not renew the lease of %s", self.id, exc_info=True)

    async def _stop_renewing(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None


def _refused_data(exc: BaseException) -> bool:
    """PostgreSQL refused the values themselves (SQLSTATE class 22, data exception) or their size (class 54, a program
    limit exceeded: one JSON value over 255 MB, say), or they could not be encoded at all (nested deeper than the
    encoder goes): the same write fails again."""
    if isinstance(exc, RecursionError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in ("22", "54")
