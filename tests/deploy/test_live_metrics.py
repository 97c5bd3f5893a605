"""The dashboards and alert rules against a real Prometheus (Debian's) scraping the real processes — the API, two
workers and the scheduler — every second, under a small load of scans, runs, webhooks, a schedule, an erase and
retention: every panel's query returns data, every series an alert rule names exists, and every rule evaluates."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from scanfleet import ids
from scanfleet.broker import connection
from scanfleet.config import Settings
from scanfleet.db import partitions, scans, schedules
from scanfleet.db.pool import create_pool
from scanfleet.embedded import die_with_parent, free_port
from scanfleet.schedules.timing import Timing
from scanfleet.supervisor import prepare_schema
from tests.conftest import Tenant, fresh_database, make_tenant, own_redis
from tests.deploy.promql import PROMETHEUS, RULES, alerts, dashboards, panels, selectors, substitute, variables
from tests.support.external import require_binary
from tests.support.services import ApiService, closed_port
from tests.support.site import FixtureSite, Page, eventually, html

pytestmark = pytest.mark.e2e

# As in deploy/prometheus/prometheus.yml.
JOBS = ("scanfleet-api", "scanfleet-worker", "scanfleet-browser-worker", "scanfleet-scheduler")
WORKERS = 2
# Grafana's variables as Grafana fills them for a 1 s scrape interval; template variables as their "All" value.
GRAFANA = {"__rate_interval": "10s", "__interval": "1s", "queue": ".*", "tier": ".*", "route": ".*"}
REDIS_DB = 11  # a Redis database of its own: the session's in-process worker must not take these jobs
DEADLINE = 45.0  # for every query to have data once the load is in


class Processes:
    """Real processes, each logging to its own file; all stopped at the end, killed if they do not stop."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            self.running[name] = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
            )

    def assert_alive(self) -> None:
        for name, process in self.running.items():
            log = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
            assert process.poll() is None, f"{name} exited with {process.returncode}:\n{log}"

    def stop(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive free ports: worker i serves on the first + i."""
    for _ in range(100):
        first = free_port()
        try:
            for offset in range(1, count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        return first
    raise AssertionError(f"no {count} consecutive free ports")


def _prometheus_config(targets: dict[str, list[str]]) -> dict[str, Any]:
    """The deployed scrape jobs, on this machine's ports, scraped every second, with the deployed rules."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": addresses}]} for job, addresses in targets.items()
        ],
    }


@dataclass(frozen=True)
class Fleet:
    api: str
    prometheus: str
    pool: asyncpg.Pool  # the platform's database
    started: float  # epoch seconds: the start of every range query


@pytest.fixture
async def own_settings(settings: Settings, server_urls: tuple[str, str]) -> AsyncIterator[Settings]:
    """A database and a Redis database of this test's own, left empty for other tests."""
    database_url = await fresh_database(settings, server_urls[0])
    await prepare_schema(settings, database_url)
    own = own_redis(settings, REDIS_DB, __name__).model_copy(update={"database_url": database_url})
    redis = await connection.connect(own)
    await redis.flushdb()
    yield own
    await redis.flushdb()
    await redis.aclose()


def _platform_env(settings: Settings) -> dict[str, str]:
    # Only what this test sets: none of the caller's SCANFLEET_* settings or servers.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SCANFLEET_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return inherited | {
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "SCANFLEET_FETCH_CA_FILE": str(settings.fetch_ca_file),
        "SCANFLEET_METRICS_HOST": "127.0.0.1",
        "SCANFLEET_LOG_LEVEL": "WARNING",
        "SCANFLEET_WORKER_POLL_DELAY_SECONDS": "0.01",
        "SCANFLEET_SCAN_TIMEOUT_SECONDS": "5",
        "SCANFLEET_FETCH_CONNECT_TIMEOUT_SECONDS": "2",
        "SCANFLEET_FETCH_READ_TIMEOUT_SECONDS": "2",
        "SCANFLEET_SCAN_REUSE_SECONDS": "0",
        # Upkeep every second, making partitions further ahead than the migration did.
        "SCANFLEET_SCHEDULER_INTERVAL_SECONDS": "1",
        "SCANFLEET_ARTIFACT_SWEEP_SECONDS": "1",  # the stored-artifact gauges come from the sweep
        "SCANFLEET_PARTITION_PREMAKE_DAYS": str(settings.partition_premake_days + 2),
        "SCANFLEET_REAPER_INTERVAL_SECONDS": "0.5",
        "SCANFLEET_WORKER_GRACE_SECONDS": "2",  # stopping at the end: free-tier scans may still be running
        "SCANFLEET_AUTOSCALE_INTERVAL_SECONDS": "1",
        # A transient failure retries once, soon, and opens its target's circuit for a second.
        "SCANFLEET_RETRY_MAX_PRIVACY": "1",
        "SCANFLEET_RETRY_BASE_SECONDS": "0.2",
        "SCANFLEET_RETRY_CAP_SECONDS": "0.5",
        "SCANFLEET_BREAKER_FAIL_MAX": "1",
        "SCANFLEET_BREAKER_RESET_SECONDS": "1",
        # Webhooks: a round a second; a failing endpoint retries soon and opens its circuit at once.
        "SCANFLEET_WEBHOOK_INTERVAL_SECONDS": "0.5",
        "SCANFLEET_WEBHOOK_BACKOFF_BASE_SECONDS": "0.2",
        "SCANFLEET_WEBHOOK_BACKOFF_CAP_SECONDS": "0.5",
        "SCANFLEET_WEBHOOK_BREAKER_FAIL_MAX": "1",
        "SCANFLEET_WEBHOOK_BREAKER_RESET_SECONDS": "1",
    }


@pytest.fixture
async def fleet(own_settings: Settings, tmp_path: Path) -> AsyncIterator[Fleet]:
    prometheus = require_binary("prometheus")
    api_port, scheduler_port, prometheus_port = free_port(), free_port(), free_port()
    worker_port, browser_worker_port = _consecutive_free_ports(WORKERS), free_port()
    env = _platform_env(own_settings) | {
        "SCANFLEET_API_PORT": str(api_port),
        "SCANFLEET_WORKER_METRICS_PORT": str(worker_port),
        "SCANFLEET_SCHEDULER_METRICS_PORT": str(scheduler_port),
    }
    targets = {
        "scanfleet-api": [f"127.0.0.1:{api_port}"],
        "scanfleet-worker": [f"127.0.0.1:{worker_port + index}" for index in range(WORKERS)],
        "scanfleet-browser-worker": [f"127.0.0.1:{browser_worker_port}"],
        "scanfleet-scheduler": [f"127.0.0.1:{scheduler_port}"],
    }
    config = tmp_path / "prometheus.json"  # YAML is a superset of JSON
    config.write_text(json.dumps(_prometheus_config(targets)))
    processes = Processes(tmp_path)
    pool = await create_pool(own_settings)
    started = time.time()
    try:
        processes.start("api", [sys.executable, "-m", "scanfleet.api"], env)
        for index in range(WORKERS):
            worker_env = env | {"SCANFLEET_WORKER_INDEX": str(index)}
            processes.start(f"worker-{index}", [sys.executable, "-m", "scanfleet.worker"], worker_env)
        browser_env = env | {
            "SCANFLEET_WORKER_ENGINE": "browser",
            "SCANFLEET_WORKER_METRICS_PORT": str(browser_worker_port),
        }
        processes.start("browser-worker", [sys.executable, "-m", "scanfleet.worker"], browser_env)
        processes.start("scheduler", [sys.executable, "-m", "scanfleet.scheduler"], env)
        processes.start(
            "prometheus",
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                "--log.level=warn",
            ],
            os.environ.copy(),
        )
        fleet = Fleet(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{prometheus_port}", pool, started)
        async with httpx.AsyncClient(timeout=5) as client:

            async def all_up() -> bool:
                processes.assert_alive()
                try:
                    found = await client.get(f"{fleet.prometheus}/api/v1/targets", params={"state": "active"})
                except httpx.TransportError:
                    return False
                active = found.json()["data"]["activeTargets"] if found.status_code == 200 else []
                return len(active) == WORKERS + 3 and all(target["health"] == "up" for target in active)

            await eventually(all_up, timeout=60, interval=0.2)
        yield fleet
        processes.assert_alive()
    finally:
        processes.stop()
        await pool.close()


@pytest.fixture
def service() -> Iterator[ApiService]:
    """Webhook endpoints (/echo takes a POST; anything unknown is 404) and a check run's target."""
    with ApiService() as running:
        yield running


async def _submit(client: httpx.AsyncClient, tenant: Tenant, url: str) -> httpx.Response:
    return await client.post("/v1/scans", json={"url": url}, headers=tenant.headers)


async def _finished(client: httpx.AsyncClient, tenant: Tenant, scan_id: str) -> bool:
    found = await client.get(f"/v1/scans/{scan_id}", headers=tenant.headers)
    return found.json()["status"] in ("succeeded", "failed")


async def _load(fleet: Fleet, site: FixtureSite, service: ApiService) -> None:
    """Scans that succeed, fail at once and fail transiently (retry, open circuit); a check run; webhooks that are
    delivered and that fail; a free tier filled to refusal and over its rate limit; 4xx answers; a due schedule;
    a scan the gate never saw (reconciliation); an erase; an old partition for retention."""
    pool = fleet.pool
    free, pro, enterprise, leaving = (
        await make_tenant(pool, "free"),
        await make_tenant(pool, "pro"),
        await make_tenant(pool, "enterprise"),
        await make_tenant(pool, "pro"),
    )
    ok = site.add(
        "/ok", html("<html><a href='/privacy'>Privacy</a><script src='https://cdn.example.com/a.js'></script>")
    )
    slow = site.add("/slow", Page(200, [("Content-Type", "text/html")], b"<html></html>", delay=1))
    missing = site.add("/missing", html("gone", status=404))
    unreachable = f"http://127.0.0.2:{closed_port()}/"  # connection refused: transient, on a host of its own

    async with httpx.AsyncClient(base_url=fleet.api, timeout=10) as client:
        for url in (service.url("/echo"), service.url("/no-such-hook")):
            hook = await client.post("/v1/webhooks", json={"url": url}, headers=pro.headers)
            assert hook.status_code == 201, hook.text

        submitted = []
        for tenant, url in [(pro, f"{ok}?n={n}") for n in range(4)] + [
            (pro, missing),
            (pro, unreachable),
            (enterprise, f"{ok}?e=1"),
            (leaving, f"{ok}?l=1"),
        ]:
            accepted = await _submit(client, tenant, url)
            assert accepted.status_code == 202, accepted.text
            submitted.append((tenant, accepted.json()["id"]))
        run = await client.post(
            "/v1/runs",
            json={"steps": [{"kind": "http", "url": service.url("/items"),
                             "assertions": [{"type": "status", "operator": "equals", "value": 200}]}]},
            headers=pro.headers,
        )  # fmt: skip
        assert run.status_code == 202, run.text

        # free: 1 running and 5 waiting (slow pages, so they drain one a second while the rest goes on), then 429.
        answers = [(await _submit(client, free, f"{slow}?f={n}")).status_code for n in range(10)]
        assert answers[:6] == [202] * 6 and 429 in answers, answers
        for _ in range(100):  # over the free key's 60 requests a minute
            if (await client.get("/v1/usage", headers=free.headers)).status_code == 429:
                break
        else:
            raise AssertionError("the free key was never rate limited")
        assert (await client.get(f"/v1/scans/{uuid.uuid4()}", headers=pro.headers)).status_code == 404
        assert (await client.post("/v1/scans", json={"url": "ftp://x"}, headers=pro.headers)).status_code == 422
        assert (await client.get("/v1/scans")).status_code == 401

        now = datetime.now(UTC)
        await schedules.create(pool, enterprise.org.id, "hourly", "privacy", {"url": f"{ok}?s=1"},
                               Timing(interval_seconds=3600), now - timedelta(hours=1),
                               enterprise.org.limits.max_schedules)  # fmt: skip
        await scans.insert(pool, pro.org.id, f"{ok}?lost=1", scan_id=ids.new_id(at=now - timedelta(minutes=5)))
        await partitions.ensure_day(pool, now.date() - timedelta(days=400))

        for tenant, scan_id in submitted:
            await eventually(functools.partial(_finished, client, tenant, scan_id), timeout=30)
        erase = await client.delete("/v1/org/data", headers=leaving.headers)
        assert erase.status_code == 202, erase.text


def _has_data(result: dict[str, Any]) -> bool:
    """At least one series with at least one number (a panel of NaN shows nothing)."""
    return any(not math.isnan(float(value)) for series in result["data"]["result"] for _, value in series["values"])


class Queries:
    """Range queries over the test's whole run, as Grafana's panels make them."""

    def __init__(self, client: httpx.AsyncClient, fleet: Fleet) -> None:
        self.client = client
        self.fleet = fleet

    async def has_data(self, expr: str) -> bool:
        answer = await self.client.get(
            f"{self.fleet.prometheus}/api/v1/query_range",
            params={"query": expr, "start": self.fleet.started, "end": time.time(), "step": "1s"},
        )
        assert answer.status_code == 200, f"{expr}: {answer.text}"
        return _has_data(answer.json())


def _dashboard_queries() -> dict[str, str]:
    """Every panel target and query variable, by where it is, with Grafana's variables filled in."""
    found = {}
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel["targets"]:
                where = f"{name} / {panel['title']} / {target['refId']}"
                found[where] = substitute(target["expr"], GRAFANA)
                for selector in selectors(found[where]):
                    found[f"{where}: {selector.named_series()}"] = selector.named_series()
        for variable in variables(dashboard):
            if variable["type"] == "query":
                parsed = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"])
                assert parsed, variable["definition"]
                metric, label = parsed.groups()
                found[f"{name} / ${variable['name']}"] = f"count by ({label}) ({metric})"
    return found


def _alert_queries() -> dict[str, str]:
    """Every series each alert rule names (with its equality matchers), so a rule cannot wait on a name
    or label value that nothing exports."""
    return {
        f"alert {alert.name}: {selector.named_series()}": selector.named_series()
        for alert in alerts()
        for selector in selectors(alert.expr)
    }


def test_the_scrape_jobs_are_the_deployed_ones() -> None:
    deployed = re.findall(r"job_name:\s*(\S+)", (PROMETHEUS / "prometheus.yml").read_text())
    assert tuple(deployed) == JOBS


async def test_every_panel_and_alert_has_data_from_the_real_processes(
    fleet: Fleet, site: FixtureSite, service: ApiService
) -> None:
    await _load(fleet, site, service)
    wanted = _dashboard_queries() | _alert_queries()
    async with httpx.AsyncClient(timeout=10) as client:
        queries = Queries(client, fleet)
        empty = dict(wanted)

        async def all_have_data() -> bool:
            for where, expr in list(empty.items()):
                if await queries.has_data(expr):
                    del empty[where]
            return not empty

        with contextlib.suppress(AssertionError):  # the assertion below names what is missing
            await eventually(all_have_data, timeout=DEADLINE, interval=0.5)
        assert not empty, "no data for:\n" + "\n".join(f"{where}\n    {expr}" for where, expr in sorted(empty.items()))

        rules = (await client.get(f"{fleet.prometheus}/api/v1/rules")).json()["data"]["groups"]
        loaded = {rule["name"]: rule for group in rules for rule in group["rules"]}
        assert set(loaded) == {alert.name for alert in alerts()}
        broken = {name: rule.get("lastError") for name, rule in loaded.items() if rule["health"] != "ok"}
        assert not broken, broken
