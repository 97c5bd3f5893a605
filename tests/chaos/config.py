"""How long and how hard a chaos run pushes: the short version CI runs, and the full one."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OrgPlan:
    tier: str
    per_second: float  # submissions this organisation sends per second


@dataclass(frozen=True)
class ChaosConfig:
    name: str
    workers: int
    kills: int  # worker SIGKILLs, each with a replacement started at once
    rolls: int  # all workers SIGTERMed and replaced
    valkey_down_seconds: float  # how long Valkey stays stopped in each of its two restarts
    postgres_down_seconds: float
    warmup_seconds: float  # submissions before the first fault
    dwell_seconds: float  # submissions between one fault's recovery and the next fault
    recover_deadline_seconds: float  # a probe not done by then counts as "not recovered"
    settle_deadline_seconds: float  # after the stream stops, how long every job gets to end
    seed: int = 7
    cancel_one_in: int = 20  # every n-th accepted scan is cancelled shortly after its 202
    # Share of each target in the stream: the dead and the flaky one are in the mix throughout.
    target_mix: dict[str, float] = field(
        default_factory=lambda: {"fast": 0.57, "slow": 0.25, "flaky": 0.13, "timeout": 0.05}
    )
    orgs: tuple[OrgPlan, ...] = (
        OrgPlan("free", 0.5),
        OrgPlan("pro", 1.5),
        OrgPlan("pro", 1.5),
        OrgPlan("enterprise", 2.5),
    )
    # Platform settings for every process (SCANFLEET_*): small leases, reaper and poll intervals so
    # recovery takes seconds, and fetch limits that make the dead target cost little.
    platform: dict[str, str] = field(
        default_factory=lambda: {
            "SCANFLEET_LEASE_SECONDS": "1.5",
            "SCANFLEET_REAPER_INTERVAL_SECONDS": "0.2",
            "SCANFLEET_REQUEUE_AFTER_SECONDS": "3",
            "SCANFLEET_SCHEDULER_INTERVAL_SECONDS": "1",
            "SCANFLEET_WORKER_POLL_DELAY_SECONDS": "0.05",
            "SCANFLEET_WORKER_MAX_JOBS": "10",
            "SCANFLEET_WORKER_GRACE_SECONDS": "3",
            "SCANFLEET_SCAN_TIMEOUT_SECONDS": "2",
            "SCANFLEET_FETCH_CONNECT_TIMEOUT_SECONDS": "1",
            "SCANFLEET_FETCH_READ_TIMEOUT_SECONDS": "1",
            "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            "SCANFLEET_SCAN_REUSE_SECONDS": "0",
            "SCANFLEET_RETRY_BASE_SECONDS": "0.2",
            "SCANFLEET_RETRY_CAP_SECONDS": "1",
            "SCANFLEET_BREAKER_FAIL_MAX": "3",
            "SCANFLEET_BREAKER_RESET_SECONDS": "0.5",
            # A dead target's scans end (target_unavailable) this long after submission, not 15 min.
            "SCANFLEET_BREAKER_GIVE_UP_SECONDS": "15",
            "SCANFLEET_BREAKER_DB_RESET_SECONDS": "1",
            "SCANFLEET_DB_CONNECT_TIMEOUT_SECONDS": "2",
            "SCANFLEET_DB_COMMAND_TIMEOUT_SECONDS": "5",
            "SCANFLEET_WORKER_METRICS_PORT": "0",
            "SCANFLEET_SCHEDULER_METRICS_PORT": "0",
            "SCANFLEET_LOG_LEVEL": "INFO",
        }
    )


SHORT = ChaosConfig(
    name="short",
    workers=3,
    kills=2,
    rolls=2,
    valkey_down_seconds=1,
    postgres_down_seconds=3,
    warmup_seconds=3,
    dwell_seconds=1.5,
    recover_deadline_seconds=20,
    settle_deadline_seconds=60,
)

FULL = ChaosConfig(
    name="full",
    workers=4,
    kills=5,
    rolls=2,
    valkey_down_seconds=5,
    postgres_down_seconds=30,
    warmup_seconds=10,
    dwell_seconds=5,
    recover_deadline_seconds=60,
    settle_deadline_seconds=240,
)
