"""Every Prometheus metric the platform exports, in one place. Each process serves its own registry; the API's
worker processes share one (prometheus_client's multiprocess mode, in the directory MULTIPROCESS_DIR names).

Labels stay low-cardinality (task, outcome, error code, route) — never a job, scan or org id.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is imported

# Scans take from milliseconds (a refused URL) to minutes (a slow site at the time limit).
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
API_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

JOBS = Counter("scanfleet_jobs_total", "Jobs finished by workers, by outcome.", ["task", "outcome"])
JOB_ERRORS = Counter("scanfleet_job_errors_total", "Failed jobs by error code.", ["task", "error_code"])
JOB_DURATION = Histogram(
    "scanfleet_job_duration_seconds", "Time a worker spent running a job.", ["task"], buckets=DURATION_BUCKETS
)
JOB_WAIT = Histogram(
    "scanfleet_job_wait_seconds",
    "Time from acceptance to a worker starting the job.",
    ["task"],
    buckets=DURATION_BUCKETS,
)
EVIDENCE_ROWS = Counter("scanfleet_evidence_rows_total", "Evidence rows written.")
RECONCILED = Counter("scanfleet_reconciled_total", "Unfinished jobs the scheduler re-enqueued or ended.", ["action"])
PARTITIONS_CREATED = Counter("scanfleet_partitions_created_total", "Day partitions created.", ["by"])
PARTITIONS_DROPPED = Counter(
    "scanfleet_partitions_dropped_total", "Day partitions detached and dropped by retention.", ["table"]
)
PARTITION_HORIZON_DAYS = Gauge(
    "scanfleet_partition_horizon_days", "Days from today that have their partition, without a gap.", ["table"]
)
ROWS_ERASED = Counter("scanfleet_erased_rows_total", "Rows removed by organisation erase requests.", ["table"])
HTTP_REQUESTS = Counter(
    "scanfleet_http_requests_total",
    "API requests by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "scanfleet_http_request_duration_seconds",
    "API request latency by route template.",
    ["route", "method"],
    buckets=API_BUCKETS,
)
ADMISSIONS = Counter(
    "scanfleet_admissions_total", "Capacity gate decisions: dispatched, waiting, rejected.", ["tier", "outcome"]
)
RATE_LIMITED = Counter("scanfleet_rate_limited_total", "API requests refused by the per-key rate limit.", ["tier"])
GATE_RUNNING = Gauge("scanfleet_gate_running_jobs", "Jobs holding a running slot, per tier.", ["tier"])
GATE_QUEUED = Gauge("scanfleet_gate_queued_jobs", "Jobs waiting in the gate for a slot, per tier.", ["tier"])
LEASES_REAPED = Counter("scanfleet_leases_reaped_total", "Jobs requeued because their worker stopped renewing.")
HEARTBEATS_MISSED = Counter("scanfleet_heartbeats_missed_total", "Heartbeat deadlines missed (each a failed run).")
SCHEDULE_FIRES = Counter(
    "scanfleet_schedule_fires_total",
    "Schedule fires by outcome: accepted, reused (still running), rejected, error (cannot fire: paused).",
    ["outcome"],
)
SCHEDULING_LAG = Histogram(
    "scanfleet_scheduling_lag_seconds",
    "Actual fire time minus planned fire time (jitter included in the plan).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
SCHEDULES = Gauge("scanfleet_schedules", "Schedules by state.", ["state"])
WEBHOOK_DELIVERIES = Counter(
    "scanfleet_webhook_deliveries_total",
    "Webhook events handled by delivery rounds: delivered, retrying, failed, deferred (circuit open), released.",
    ["outcome"],
)

# Resilience: retries, deferrals, hand-backs, results held while PostgreSQL is away, circuit breakers.
JOB_RETRIES = Counter(
    "scanfleet_job_retries_total", "Transient failures that sent a job back to run later.", ["task", "error_code"]
)
JOBS_DEFERRED = Counter(
    "scanfleet_jobs_deferred_total",
    "Jobs put back to run later without using a try: reason breaker (target circuit open), platform (a dependency"
    " down), retry (backoff after a transient failure), storage (the artifact store is down).",
    ["task", "reason"],
)
JOBS_HANDED_BACK = Counter(
    "scanfleet_jobs_handed_back_total", "Jobs a stopping worker gave back for another worker.", ["task"]
)
RESULTS_PENDING = Gauge(
    "scanfleet_results_pending", "Finished results a worker holds because PostgreSQL cannot take them yet."
)
BREAKER_TRANSITIONS = Counter(
    "scanfleet_breaker_transitions_total", "Circuit breaker state changes seen by this process.", ["kind", "state"]
)
BREAKERS_OPEN = Gauge("scanfleet_breakers_open", "Circuit breakers open now, by kind (fleet-wide).", ["kind"])
BREAKER_OPEN_LONGEST = Gauge(
    "scanfleet_breaker_open_longest_seconds", "How long the longest-open breaker of a kind has been open.", ["kind"]
)

# Workers: each process exports its own; sum over processes for the fleet.
WORKER_BUSY_SLOTS = Gauge("scanfleet_worker_busy_slots", "Jobs this worker process is running.")
WORKER_MAX_SLOTS = Gauge("scanfleet_worker_max_slots", "Jobs this worker process may run at once.")
WORKER_DRAINING = Gauge("scanfleet_worker_draining", "1 while this worker process drains for shutdown.")

# Queue truth, exported by the scheduler alone (one reading of Redis, not one per worker).
QUEUE_JOBS = Gauge(
    "scanfleet_queue_jobs",
    "Jobs in arq's queue: ready (due, not started), running, deferred (due later, or parked by the gate).",
    ["queue", "state"],
)
QUEUE_OLDEST_READY_AGE = Gauge(
    "scanfleet_queue_oldest_ready_age_seconds", "How long the oldest ready job has been due (0 when none).", ["queue"]
)
GATE_QUEUE_CAPACITY = Gauge(
    "scanfleet_gate_queue_capacity_jobs", "Room in line (max_queued) summed over the tier's organisations.", ["tier"]
)
AUTOSCALE_DESIRED = Gauge(
    "scanfleet_autoscale_desired_replicas", "Worker replicas the scaling policy asks for.", ["source"]
)
AUTOSCALE_REPLICAS = Gauge("scanfleet_autoscale_replicas", "Worker processes the local supervisor runs.")
BROWSER_WORKERS = Gauge(
    "scanfleet_browser_workers", "Browser-capable worker processes that sent a heartbeat within 15 s."
)

# Artifacts (scanfleet.artifacts): what workers wrote, what the sweep found stored and removed.
ARTIFACT_WRITES = Counter(
    "scanfleet_artifact_writes_total",
    "Artifact blob writes by backend and outcome: written, failed (the store was unavailable), refused (by the store).",
    ["backend", "outcome"],
)
ARTIFACT_WRITE_BYTES = Counter("scanfleet_artifact_write_bytes_total", "Bytes of artifact blobs written.", ["backend"])
ARTIFACTS_LEFT_OUT = Counter(
    "scanfleet_artifacts_left_out_total",
    "Artifacts a job produced but that were not kept: over the per-artifact or the per-job size limit, refused by"
    " the store, or the store still unavailable when the job gave up waiting for it.",
    ["kind", "reason"],
)
ARTIFACTS_STORED = Gauge(
    "scanfleet_artifacts_stored_objects", "Artifact blobs in the store, as the last sweep counted."
)
ARTIFACT_BYTES_STORED = Gauge("scanfleet_artifacts_stored_bytes", "Bytes of artifact blobs in the store (last sweep).")
ARTIFACTS_DELETED = Counter(
    "scanfleet_artifacts_deleted_total",
    "Artifact blobs removed: sweep (no row references them: retention, purge, a crash before commit), erase.",
    ["reason"],
)


def exposition() -> bytes:
    """This process's metrics in Prometheus' text format; with MULTIPROCESS_DIR set, those of every process
    sharing it (the API's workers), summed."""
    if MULTIPROCESS_DIR not in os.environ:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
