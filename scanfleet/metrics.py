"""Every Prometheus metric the platform exports, in one place. Each process serves its own registry.

Labels stay low-cardinality (task, outcome, error code, route) — never a job, scan or org id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
    "Schedule fires by outcome: accepted, reused (still running), rejected.",
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
