"""Every Redis key and channel the platform uses, and the job id's string form. Nothing else names them.

The gate's per-organisation and per-job keys are computed inside its Lua from the prefix (lua/lib.lua has the
whole layout): one Redis node, not Redis Cluster.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from arq.constants import abort_jobs_ss, default_queue_name, in_progress_key_prefix, job_key_prefix

GATE_PREFIX = "sf:gate:"
BREAKER_PREFIX = "sf:breaker:"
RATE_LIMIT_PREFIX = "sf:rl:"
WORKERS = "sf:workers"  # zset: "<host>:<pid>" -> last heartbeat (ms)
BROWSER_WORKERS = "sf:workers:browser"  # the same, for browser-capable workers
QUEUE = default_queue_name
DEFAULT_JOB_TTL_MS = 86_400_000  # a job body outlives its run-at by a day (arq's default); PostgreSQL can re-enqueue
JOB_BODY_PREFIX = job_key_prefix  # arq's serialised job, by id
IN_PROGRESS_PREFIX = in_progress_key_prefix  # arq's marker that a worker took the job
ABORTS = abort_jobs_ss  # arq's set of job ids its workers must cancel


def job_id(job: uuid.UUID) -> str:
    # arq's job id is the job's own: arq refuses a second job with the same id, so re-enqueueing is harmless.
    return f"job:{job}"


def id_of(job_id: str) -> uuid.UUID:
    return uuid.UUID(job_id.removeprefix("job:"))


@dataclass(frozen=True)
class GateKeys:
    """The gate's keys under one prefix (tests and benchmarks use prefixes of their own)."""

    prefix: str = GATE_PREFIX
    queue: str = QUEUE

    @property
    def script_keys(self) -> list[str]:
        """KEYS of every gate script, in lib.lua's order."""
        p = self.prefix
        return [self.queue, p + "jobs", p + "leases", p + "deferred", p + "orgs", p + "durations", ABORTS, self.ready]

    @property
    def script_args(self) -> list[str]:
        """ARGV[1..4] of every gate script: what lib.lua computes the other keys from."""
        return [self.prefix, JOB_BODY_PREFIX, IN_PROGRESS_PREFIX, self.wake]

    @property
    def wake(self) -> str:
        """A list of wake-up tokens, one per job made ready (never more than jobs ready): an idle worker blocks
        on it, so one dispatch wakes one worker."""
        return self.prefix + "wake"

    @property
    def ready(self) -> str:
        """Dispatched jobs no worker has taken yet: what workers poll."""
        return self.prefix + "ready"

    @property
    def jobs(self) -> str:
        return self.prefix + "jobs"

    @property
    def leases(self) -> str:
        return self.prefix + "leases"

    @property
    def deferred(self) -> str:
        return self.prefix + "deferred"

    @property
    def orgs(self) -> str:
        return self.prefix + "orgs"

    @property
    def durations(self) -> str:
        return self.prefix + "durations"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def org(self, org: str) -> str:
        return f"{self.prefix}org:{org}"

    def active(self, org: str) -> str:
        return f"{self.prefix}active:{org}"

    def waiting(self, org: str) -> str:
        return f"{self.prefix}waiting:{org}"

    def deferred_of(self, org: str) -> str:
        return f"{self.prefix}deferred:{org}"


@dataclass(frozen=True)
class BreakerKeys:
    """One kind of breaker's keys (breaker_gauges.lua computes the same from the prefix)."""

    kind: str
    prefix: str = BREAKER_PREFIX

    def state(self, name: str) -> str:
        return f"{self.prefix}state:{self.kind}:{name}"

    @property
    def kinds(self) -> str:
        """Every kind of breaker seen."""
        return f"{self.prefix}kinds"

    @property
    def indexes(self) -> list[str]:
        """Not closed, by when they left closed; with a snapshot, by when it expires; the kinds seen."""
        return [f"{self.prefix}open:{self.kind}", f"{self.prefix}expiring:{self.kind}", self.kinds]


def rate_limit(key_id: uuid.UUID, prefix: str = RATE_LIMIT_PREFIX) -> str:
    return f"{prefix}{key_id}"


# The browser line and queue (browser scans, runs with browser steps): a resource class of its own, taken by
# browser-capable workers only.
BROWSER_GATE = GateKeys(prefix=GATE_PREFIX + "browser:", queue=QUEUE + ":browser")
