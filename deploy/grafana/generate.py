"""scanfleet's Grafana dashboards, defined here and written to deploy/grafana/dashboards/*.json.

    python deploy/grafana/generate.py           # write the JSON after changing a definition; commit both
    python deploy/grafana/generate.py --check   # exit 1 naming each JSON file that differs from its definition

Every panel and variable queries the `datasource` template variable (a datasource variable of type prometheus),
so provisioned dashboards work against whichever Prometheus the Grafana has: `${DS_...}` inputs are only filled in
by the UI's import dialog, never by provisioning.

Gauges the scheduler reads fleet-wide (queue, gate, breakers, autoscaling) are taken with max(): every scheduler
replica exports the same reading, and a sum would count it once per replica. Counters and per-process gauges
(workers' slots, held results) are summed over processes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
WIDTH = 24  # Grafana's grid


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    unit: str
    targets: tuple[Target, ...]
    stat: bool = False  # a headline number instead of a graph
    width: int = 12
    # (colour, from value): stat panels colour their number by these; graphs draw them as lines.
    thresholds: tuple[tuple[str, float], ...] = ()
    max: float | None = None
    stack: bool = False


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    metric: str  # label_values(metric, name)


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()


# PromQL builders: one spelling of each idiom.


def sel(metric: str, match: str = "") -> str:
    return f"{metric}{{{match}}}" if match else metric


def rate(metric: str, by: str = "", match: str = "") -> str:
    grouping = f"sum by ({by})" if by else "sum"
    return f"{grouping} (rate({sel(metric, match)}[{RATE}]))"


def increase(metric: str, window: str, by: str = "", match: str = "") -> str:
    grouping = f"sum by ({by})" if by else "sum"
    return f"{grouping} (increase({sel(metric, match)}[{window}]))"


def quantile(q: float, metric: str, by: str = "", match: str = "") -> str:
    grouping = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({grouping}) (rate({sel(metric + '_bucket', match)}[{RATE}])))"


def quantiles(metric: str, by: str = "", match: str = "") -> tuple[Target, ...]:
    prefix = f"{{{{{by}}}}} " if by else ""
    return tuple(Target(quantile(q, metric, by, match), f"{prefix}p{round(q * 100)}") for q in (0.5, 0.95, 0.99))


def share(part: str, whole: str) -> str:
    """part / whole, reading 0 (not "no data") while `part` has no series yet, e.g. before the first failure."""
    return f"({part} or {whole} * 0) / {whole}"


def fleet_gauge(metric: str, by: str = "", match: str = "") -> str:
    return f"max by ({by}) ({sel(metric, match)})" if by else f"max({sel(metric, match)})"


def queue_state(state: str) -> str:
    match = f'{QUEUE}, state="{state}"'
    return f"sum({fleet_gauge('scanfleet_queue_jobs', 'queue', match)})"


def ts(title: str, description: str, unit: str, *targets: Target, **options: Any) -> Panel:
    return Panel(title, description, unit, targets, **options)


def stat(title: str, description: str, unit: str, expr: str, width: int = 4, **options: Any) -> Panel:
    return Panel(title, description, unit, (Target(expr, title),), stat=True, width=width, **options)


# The dashboards read as tables: one panel per call, kept out of the formatter's one-argument-per-line layout.
# fmt: off
JOBS = "scanfleet_jobs_total"
FINISHED = 'outcome!="duplicate"'
FAILED = 'outcome="failed"'
QUEUE = 'queue=~"$queue"'
BROWSER_QUEUE = 'queue="arq:queue:browser"'
BROWSER_READY = BROWSER_QUEUE + ', state="ready"'
TIER = 'tier=~"$tier"'
ROUTE = 'route=~"$route"'
FAILURE_SHARE = share(rate(JOBS, match=FAILED), rate(JOBS, match=FINISHED))
UTILISATION = "sum(scanfleet_worker_busy_slots) / sum(scanfleet_worker_max_slots)"
WORKERS_RUNNING = "count(scanfleet_worker_max_slots > 0)"
HTTP = "scanfleet_http_requests_total"
HTTP_LATENCY = "scanfleet_http_request_duration_seconds"

AMBER_RED = (("green", 0), ("orange", 0.05), ("red", 0.1))
OVERVIEW = Dashboard(
    "scanfleet-overview",
    "scanfleet / Fleet overview",
    "Throughput, waiting and running times, worker utilisation and replicas across the whole fleet.",
    (
        Row(
            "Now",
            (
                stat("Jobs finished", "Jobs ended by workers per second (duplicates excluded).", "suffix: jobs/s",
                     rate(JOBS, match=FINISHED)),
                stat("Failed", "Share of finished jobs that ended failed.", "percentunit", FAILURE_SHARE,
                     thresholds=AMBER_RED),
                stat("Wait p95", "95th percentile of acceptance → first start.", "s",
                     quantile(0.95, "scanfleet_job_wait_seconds"), thresholds=(("green", 0), ("orange", 30),
                                                                                ("red", 300))),
                stat("Oldest ready job", "Age of the oldest job due to run that no worker has started.", "s",
                     fleet_gauge("scanfleet_queue_oldest_ready_age_seconds"),
                     thresholds=(("green", 0), ("orange", 60), ("red", 300))),
                stat("Worker utilisation", "Busy job slots over all slots of the running workers.", "percentunit",
                     UTILISATION, thresholds=(("green", 0), ("orange", 0.8), ("red", 0.95))),
                stat("Workers", "Worker processes exporting metrics with job slots.", "short", WORKERS_RUNNING),
            ),
        ),
        Row(
            "Throughput and latency",
            (
                ts("Jobs finished by outcome", "Per task: scans succeeded/failed, runs by verdict, duplicates "
                   "(a redelivery that wrote nothing).", "suffix: jobs/s",
                   Target(rate(JOBS, "task, outcome"), "{{task}} {{outcome}}"), stack=True),
                ts("Failure rate by task", "Share of each task's finished jobs that failed; the alert fires above "
                   "10%.", "percentunit", Target(share(rate(JOBS, "task", FAILED), rate(JOBS, "task", FINISHED)),
                                                 "{{task}}"), thresholds=(("red", 0.1),), max=1),
                ts("Job wait (acceptance → start)", "Dispatch latency of first tries, all tasks.", "s",
                   *quantiles("scanfleet_job_wait_seconds")),
                ts("Job run duration", "Time a worker spent running a job, per task.", "s",
                   *quantiles("scanfleet_job_duration_seconds", "task")),
            ),
        ),
        Row(
            "Workers and scaling",
            (
                ts("Worker utilisation", "Busy slots over all slots, fleet-wide.", "percentunit",
                   Target(UTILISATION, "utilisation"), max=1, thresholds=(("red", 0.95),), width=8),
                ts("Job slots", "Jobs running on workers vs. the slots they have; draining workers finish their "
                   "jobs and take no new ones.", "short",
                   Target("sum(scanfleet_worker_busy_slots)", "busy"),
                   Target("sum(scanfleet_worker_max_slots)", "slots"),
                   Target("sum(scanfleet_worker_draining)", "workers draining"), width=8),
                ts("Worker replicas: running vs desired", "Workers running (exporting slots), what the scaling "
                   "policy asks for, and the processes the local supervisor runs.", "short",
                   Target(WORKERS_RUNNING, "running"),
                   Target(fleet_gauge("scanfleet_autoscale_desired_replicas", "source"), "desired ({{source}})"),
                   Target(fleet_gauge("scanfleet_autoscale_replicas"), "supervisor processes"), width=8),
            ),
        ),
        Row(
            "Schedules and webhooks",
            (
                ts("Schedule fires by outcome", "accepted, reused (its last job still runs), rejected (no capacity).",
                   "suffix: fires/s", Target(rate("scanfleet_schedule_fires_total", "outcome"), "{{outcome}}")),
                ts("Scheduling lag", "Actual fire time minus planned; the scheduler's tick is its floor.", "s",
                   *quantiles("scanfleet_scheduling_lag_seconds")),
                ts("Webhook deliveries by outcome", "delivered, retrying, failed (attempts spent), deferred "
                   "(circuit open), released (round out of time).", "suffix: events/s",
                   Target(rate("scanfleet_webhook_deliveries_total", "outcome"), "{{outcome}}")),
                ts("Schedules and missed heartbeats", "Schedules by state; heartbeat deadlines missed in the last "
                   "hour (each a failed run).", "short",
                   Target(fleet_gauge("scanfleet_schedules", "state"), "{{state}} schedules"),
                   Target(increase("scanfleet_heartbeats_missed_total", "1h"), "heartbeats missed (1h)")),
            ),
        ),
    ),
)

QUEUES = Dashboard(
    "scanfleet-queues",
    "scanfleet / Queues and capacity",
    "arq's queue by state, and the capacity gate per tier: running, waiting, room in line, admissions.",
    (
        Row(
            "Queue",
            (
                stat("Ready", "Due jobs no worker has started.", "short", queue_state("ready")),
                stat("Running", "Jobs workers are running.", "short", queue_state("running")),
                stat("Deferred", "Jobs due later: retries, open circuits, parked by the gate.", "short",
                     queue_state("deferred")),
                stat("Oldest ready job", "Age of the oldest ready job; the alert fires above 5 minutes.", "s",
                     fleet_gauge("scanfleet_queue_oldest_ready_age_seconds", match=QUEUE),
                     thresholds=(("green", 0), ("orange", 60), ("red", 300))),
                stat("Waiting in the gate", "Jobs held in organisations' lines for a running slot.", "short",
                     f"sum({fleet_gauge('scanfleet_gate_queued_jobs', 'tier', TIER)})"),
                stat("Refused (429)", "Submissions refused by the gate (queue full) in the last hour.", "short",
                     increase("scanfleet_admissions_total", "1h", match=f'{TIER}, outcome="rejected"'),
                     thresholds=(("green", 0), ("orange", 1))),
            ),
        ),
        Row(
            "Queue over time",
            (
                ts("Jobs by state", "ready: due and not started; running; deferred: due later.", "short",
                   Target(f"sum by (state) ({fleet_gauge('scanfleet_queue_jobs', 'queue, state', QUEUE)})",
                          "{{state}}")),
                ts("Oldest ready job", "Per queue; the autoscaler scales on this age, the alert fires above 300 s.",
                   "s", Target(fleet_gauge("scanfleet_queue_oldest_ready_age_seconds", "queue", QUEUE), "{{queue}}"),
                   thresholds=(("red", 300),)),
            ),
        ),
        Row(
            "Browser scans",
            (
                stat("Browser scans ready", "Browser scans due that no browser worker has started.", "short",
                     f"sum({fleet_gauge('scanfleet_queue_jobs', 'queue', BROWSER_READY)})"),
                stat("Oldest ready browser scan", "Age of the oldest browser scan due to run.", "s",
                     fleet_gauge("scanfleet_queue_oldest_ready_age_seconds", match=BROWSER_QUEUE),
                     thresholds=(("green", 0), ("orange", 60), ("red", 300))),
                stat("Browser workers", "Browser-capable worker processes live now.", "short",
                     fleet_gauge("scanfleet_browser_workers"), thresholds=(("red", 0), ("green", 1))),
                ts("Browser workers wanted and live", "The browser queue's scaling policy (KEDA follows it) and the "
                   "browser workers that sent a heartbeat.", "short",
                   Target(fleet_gauge("scanfleet_autoscale_desired_replicas", match='source="browser_policy"'),
                          "wanted"),
                   Target(fleet_gauge("scanfleet_browser_workers"), "live"), width=12),
            ),
        ),
        Row(
            "Capacity gate per tier",
            (
                ts("Running per tier", "Jobs holding a running slot.", "short",
                   Target(fleet_gauge("scanfleet_gate_running_jobs", "tier", TIER), "{{tier}}")),
                ts("Waiting vs room in line per tier", "Jobs waiting for a slot and the tier's room in line "
                   "(max_queued summed over its organisations).", "short",
                   Target(fleet_gauge("scanfleet_gate_queued_jobs", "tier", TIER), "{{tier}} waiting"),
                   Target(fleet_gauge("scanfleet_gate_queue_capacity_jobs", "tier", TIER), "{{tier}} room")),
                ts("Line fill per tier", "Waiting over room in line; the alert fires above 80% for 5 minutes.",
                   "percentunit",
                   Target(f"{fleet_gauge('scanfleet_gate_queued_jobs', 'tier', TIER)} / "
                          f"{fleet_gauge('scanfleet_gate_queue_capacity_jobs', 'tier', TIER)}", "{{tier}}"),
                   max=1, thresholds=(("red", 0.8),), width=8),
                ts("Admissions by outcome", "Gate decisions: dispatched (slot free), waiting (in line), rejected "
                   "(429).", "suffix: jobs/s",
                   Target(rate("scanfleet_admissions_total", "tier, outcome", TIER), "{{tier}} {{outcome}}"), width=8),
                ts("Rate limited", "API requests refused by the per-key rate limit.", "reqps",
                   Target(rate("scanfleet_rate_limited_total", "tier", TIER), "{{tier}}"), width=8),
            ),
        ),
    ),
    (Variable("queue", "Queue", "scanfleet_queue_jobs"), Variable("tier", "Tier", "scanfleet_gate_running_jobs")),
)

FAILURES = Dashboard(
    "scanfleet-failures",
    "scanfleet / Failures and breakers",
    "Why jobs fail, what is retried or deferred, circuit breakers, and the platform's own recovery.",
    (
        Row(
            "Now",
            (
                stat("Failed", "Share of finished jobs that ended failed.", "percentunit", FAILURE_SHARE,
                     thresholds=AMBER_RED),
                stat("Retries", "Jobs sent back to run again after a transient failure.", "suffix: /s",
                     rate("scanfleet_job_retries_total")),
                stat("Breakers open", "Circuit breakers open now, all kinds.", "short",
                     f"sum({fleet_gauge('scanfleet_breakers_open', 'kind')})",
                     thresholds=(("green", 0), ("orange", 1))),
                stat("Longest open breaker", "The alert fires above 10 minutes.", "s",
                     fleet_gauge("scanfleet_breaker_open_longest_seconds"),
                     thresholds=(("green", 0), ("orange", 60), ("red", 600))),
                stat("Results held", "Finished results workers hold while PostgreSQL cannot take them.", "short",
                     "sum(scanfleet_results_pending)", thresholds=(("green", 0), ("red", 1))),
                stat("Leases reaped (1h)", "Jobs requeued because their worker stopped renewing its lease.",
                     "short", increase("scanfleet_leases_reaped_total", "1h"), thresholds=(("green", 0),
                                                                                            ("orange", 1))),
            ),
        ),
        Row(
            "Failures and retries",
            (
                ts("Failures by error code", "Failed jobs per task and error code.", "suffix: jobs/s",
                   Target(rate("scanfleet_job_errors_total", "task, error_code"), "{{task}} {{error_code}}"),
                   stack=True),
                ts("Failure rate by task", "Share of each task's finished jobs that failed; the alert fires above "
                   "10%.", "percentunit", Target(share(rate(JOBS, "task", FAILED), rate(JOBS, "task", FINISHED)),
                                                 "{{task}}"), max=1, thresholds=(("red", 0.1),)),
                ts("Retries by error code", "Transient failures (timeouts, resets, 5xx, 429) sent back with backoff.",
                   "suffix: jobs/s",
                   Target(rate("scanfleet_job_retries_total", "task, error_code"), "{{task}} {{error_code}}")),
                ts("Deferrals and hand-backs", "Jobs put back without using a try: breaker (target circuit open), "
                   "platform (a dependency down), retry (backoff); hand-backs by stopping workers.",
                   "suffix: jobs/s",
                   Target(rate("scanfleet_jobs_deferred_total", "reason"), "deferred: {{reason}}"),
                   Target(rate("scanfleet_jobs_handed_back_total", "task"), "handed back: {{task}}")),
            ),
        ),
        Row(
            "Circuit breakers",
            (
                ts("Breakers open by kind", "target: one per site host; postgres: the primary; webhook: one per "
                   "endpoint.", "short", Target(fleet_gauge("scanfleet_breakers_open", "kind"), "{{kind}}"), width=8),
                ts("Longest open breaker by kind", "The alert fires above 10 minutes (PostgreSQL's after 2).", "s",
                   Target(fleet_gauge("scanfleet_breaker_open_longest_seconds", "kind"), "{{kind}}"),
                   thresholds=(("red", 600),), width=8),
                ts("Breaker transitions", "State changes per kind and new state, seen by all processes.",
                   "suffix: /s", Target(rate("scanfleet_breaker_transitions_total", "kind, state"),
                                        "{{kind}} → {{state}}"), width=8),
            ),
        ),
        Row(
            "Recovery",
            (
                ts("Results held by workers", "Per worker process: results waiting for PostgreSQL.", "short",
                   Target("sum by (instance) (scanfleet_results_pending)", "{{instance}}")),
                ts("Leases reaped", "Jobs of dead workers put back after their lease expired.", "suffix: jobs/s",
                   Target(rate("scanfleet_leases_reaped_total"), "reaped")),
            ),
        ),
    ),
)

STORAGE = Dashboard(
    "scanfleet-storage",
    "scanfleet / Storage",
    "Evidence write rate, day partitions made ahead and dropped by retention, erasures, artifacts, reconciliation.",
    (
        Row(
            "Now",
            (
                stat("Evidence rows written", "Rows per second, all workers.", "suffix: rows/s",
                     rate("scanfleet_evidence_rows_total")),
                stat("Partition horizon", "Days ahead with their partitions made, the shortest table; the alert "
                     "fires below 2.", "suffix: days", "min(scanfleet_partition_horizon_days)",
                     thresholds=(("red", 0), ("orange", 2), ("green", 3))),
                stat("Partitions created (24h)", "By upkeep ahead of time, or by a write that found none.", "short",
                     increase("scanfleet_partitions_created_total", "24h")),
                stat("Partitions dropped (24h)", "Days past retention, detached and dropped.", "short",
                     increase("scanfleet_partitions_dropped_total", "24h")),
                stat("Rows erased (24h)", "Rows removed by organisations' erase requests.", "short",
                     increase("scanfleet_erased_rows_total", "24h")),
                stat("Reconciled (1h)", "Jobs the scheduler re-admitted, released, requeued or ended.", "short",
                     increase("scanfleet_reconciled_total", "1h"), thresholds=(("green", 0), ("orange", 1))),
            ),
        ),
        Row(
            "Writes",
            (
                ts("Evidence rows written", "Rows per second, all workers.", "suffix: rows/s",
                   Target(rate("scanfleet_evidence_rows_total"), "rows")),
                ts("Rows erased by table", "Organisation erase requests at work.", "suffix: rows/s",
                   Target(rate("scanfleet_erased_rows_total", "table"), "{{table}}")),
            ),
        ),
        Row(
            "Partitions",
            (
                ts("Partition horizon by table", "Days from today with a partition ready, without a gap.",
                   "suffix: days", Target("min by (table) (scanfleet_partition_horizon_days)", "{{table}}"),
                   thresholds=(("red", 2),), width=8),
                ts("Partitions created (1h)", "by upkeep (ahead of time) or by a write that found none.", "short",
                   Target(increase("scanfleet_partitions_created_total", "1h", "by"), "{{by}}"), width=8),
                ts("Partitions dropped (1h)", "Per table, by retention.", "short",
                   Target(increase("scanfleet_partitions_dropped_total", "1h", "table"), "{{table}}"), width=8),
            ),
        ),
        Row(
            "Artifacts",
            (
                stat("Artifacts stored", "Blobs in the artifact store, as the scheduler's last sweep counted.",
                     "short", fleet_gauge("scanfleet_artifacts_stored_objects"), width=6),
                stat("Artifact bytes stored", "Their bytes, as the last sweep counted.", "bytes",
                     fleet_gauge("scanfleet_artifacts_stored_bytes"), width=6),
                ts("Artifact writes by outcome", "written, or failed (the store was unavailable: the job was "
                   "deferred, and the storage breaker may open).", "suffix: /s",
                   Target(rate("scanfleet_artifact_writes_total", "backend, outcome"), "{{backend}} {{outcome}}"),
                   width=6),
                ts("Artifact bytes written", "All workers, per backend.", "Bps",
                   Target(rate("scanfleet_artifact_write_bytes_total", "backend"), "{{backend}}"), width=6),
            ),
        ),
        Row(
            "Reconciliation",
            (
                ts("Reconciled by action", "readmitted (the gate lost it), released (slot of an ended job), requeued "
                   "(arq lost it), exhausted (out of tries).", "suffix: jobs/s",
                   Target(rate("scanfleet_reconciled_total", "action"), "{{action}}"), width=24),
            ),
        ),
    ),
)

API = Dashboard(
    "scanfleet-api",
    "scanfleet / API",
    "Request rate, latency and errors of the API, by route template.",
    (
        Row(
            "Now",
            (
                stat("Requests", "All API requests per second.", "reqps", rate(HTTP, match=ROUTE), width=6),
                stat("Latency p95", "All routes.", "s", quantile(0.95, HTTP_LATENCY, match=ROUTE),
                     thresholds=(("green", 0), ("orange", 0.25), ("red", 1)), width=6),
                stat("4xx", "Share of requests answered 4xx (the client's mistake, or a limit).", "percentunit",
                     share(rate(HTTP, match=f'{ROUTE}, status=~"4.."'), rate(HTTP, match=ROUTE)), width=6),
                stat("5xx", "Share of requests answered 5xx; the alert fires above 5%.", "percentunit",
                     share(rate(HTTP, match=f'{ROUTE}, status=~"5.."'), rate(HTTP, match=ROUTE)),
                     thresholds=(("green", 0), ("orange", 0.01), ("red", 0.05)), width=6),
            ),
        ),
        Row(
            "Traffic",
            (
                ts("Requests by route", "Per route template and method.", "reqps",
                   Target(rate(HTTP, "method, route", ROUTE), "{{method}} {{route}}")),
                ts("Responses by status", "All routes.", "reqps",
                   Target(rate(HTTP, "status", ROUTE), "{{status}}"), stack=True),
                ts("Errors by route and status", "4xx and 5xx answers.", "reqps",
                   Target(rate(HTTP, "method, route, status", f'{ROUTE}, status=~"[45].."'),
                          "{{status}} {{method}} {{route}}"), width=24),
            ),
        ),
        Row(
            "Latency by route",
            tuple(
                ts(f"Latency p{round(q * 100)}", f"{round(q * 100)}th percentile per route template.", "s",
                   Target(quantile(q, HTTP_LATENCY, "route", ROUTE), "{{route}}"), width=8)
                for q in (0.5, 0.95, 0.99)
            ),
        ),
    ),
    (Variable("route", "Route", HTTP),),
)

DASHBOARDS = (OVERVIEW, QUEUES, FAILURES, STORAGE, API)
# fmt: on


def _thresholds(steps: tuple[tuple[str, float], ...], stat_panel: bool) -> dict[str, Any]:
    # Grafana's first step has no lower bound. A graph with no thresholds draws none (transparent base).
    base = "blue" if stat_panel else "transparent"
    json_steps: list[dict[str, Any]] = [{"color": base, "value": None}]
    for n, (colour, value) in enumerate(steps):
        if n == 0 and value == 0:
            json_steps[0]["color"] = colour
        else:
            json_steps.append({"color": colour, "value": value})
    return {"mode": "absolute", "steps": json_steps}


def _target(target: Target, ref: str) -> dict[str, Any]:
    return {"datasource": DS, "editorMode": "code", "expr": target.expr, "legendFormat": target.legend,
            "range": True, "refId": ref}  # fmt: skip


def _panel(panel: Panel, panel_id: int, x: int, y: int, height: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, "min": 0, "thresholds": _thresholds(panel.thresholds, panel.stat)}
    if panel.max is not None:
        defaults["max"] = panel.max
    if panel.stat:
        defaults["color"] = {"mode": "thresholds"}
        options: dict[str, Any] = {
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "value",
        }
    else:
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {
            "drawStyle": "line",
            "fillOpacity": 20 if panel.stack else 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if panel.stack else "none"},
            "thresholdsStyle": {"mode": "line" if panel.thresholds else "off"},
        }
        options = {
            "legend": {
                "calcs": ["mean", "max", "lastNotNull"],
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return {
        "datasource": DS,
        "description": panel.description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": {"h": height, "w": panel.width, "x": x, "y": y},
        "id": panel_id,
        "options": options,
        "targets": [_target(target, chr(ord("A") + n)) for n, target in enumerate(panel.targets)],
        "title": panel.title,
        "type": "stat" if panel.stat else "timeseries",
    }


def _panels(rows: tuple[Row, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        out.append({"collapsed": False, "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": y}, "id": len(out) + 1,
                    "panels": [], "title": row.title, "type": "row"})  # fmt: skip
        y += 1
        x = line_height = 0
        for panel in row.panels:
            height = 4 if panel.stat else 8
            if x + panel.width > WIDTH:  # wrap to a new line of panels
                x, y, line_height = 0, y + line_height, 0
            out.append(_panel(panel, len(out) + 1, x, y, height))
            x, line_height = x + panel.width, max(line_height, height)
        y += line_height
    return out


def _variable(variable: Variable) -> dict[str, Any]:
    query = f"label_values({variable.metric}, {variable.name})"
    return {
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DS,
        "definition": query,
        "includeAll": True,
        "label": variable.label,
        "multi": True,
        "name": variable.name,
        "options": [],
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "type": "query",
    }


DATASOURCE_VARIABLE = {
    "current": {},
    "hide": 0,
    "includeAll": False,
    "label": "Data source",
    "multi": False,
    "name": "datasource",
    "options": [],
    "query": "prometheus",
    "refresh": 1,
    "regex": "",
    "type": "datasource",
}


def render(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "annotations": {"list": []},
        "description": dashboard.description,
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
                "tags": ["scanfleet"],
                "title": "scanfleet",
                "type": "dashboards",
            }
        ],
        "panels": _panels(dashboard.rows),
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["scanfleet"],
        "templating": {"list": [DATASOURCE_VARIABLE, *(_variable(v) for v in dashboard.variables)]},
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": dashboard.title,
        "uid": dashboard.uid,
        "version": 1,
    }


def files() -> dict[Path, str]:
    """Each dashboard's file and its content."""
    return {
        OUT / f"{dashboard.uid.removeprefix('scanfleet-')}.json": json.dumps(render(dashboard), indent=2) + "\n"
        for dashboard in DASHBOARDS
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report JSON files that differ from this script")
    args = parser.parse_args()
    wanted = files()
    written = set(OUT.glob("*.json"))
    stale = sorted(str(path) for path, text in wanted.items() if not path.exists() or path.read_text() != text)
    extra = sorted(str(path) for path in written - wanted.keys())
    if args.check:
        for path in stale:
            print(f"out of date: {path} (run python deploy/grafana/generate.py)")
        for path in extra:
            print(f"not generated by this script: {path}")
        return 1 if stale or extra else 0
    OUT.mkdir(exist_ok=True)
    for path, text in wanted.items():
        path.write_text(text)
    for path in extra:
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
