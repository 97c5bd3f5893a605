"""One settings object, read from environment variables (see the table in README.md)."""

from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from scanfleet.addresses import Endpoint, allow_entry
from scanfleet.http.resolve import ResolveMap, parse_resolve


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCANFLEET_", extra="ignore")

    # Servers. Unset → `scanfleet up` starts embedded ones under data_dir.
    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL"))
    # Reads the API may serve from a streaming replica (lists, results, stats); unset → the primary.
    database_read_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_READ_URL"))
    redis_url: str | None = Field(None, validation_alias=AliasChoices("REDIS_URL"))
    # High availability: host:port of Redis Sentinels (comma-separated); REDIS_URL then names only the
    # database and password, and the master is looked up by redis_sentinel_master.
    redis_sentinels: Annotated[list[str], NoDecode] = []
    redis_sentinel_master: str = "mymaster"
    data_dir: Path = Path(".scanfleet")
    # Where `scanfleet up` also leaves word of itself for commands run in other directories (…/scanfleet/);
    # unset: ~/.local/state.
    runtime_dir: Path | None = Field(None, validation_alias=AliasChoices("XDG_RUNTIME_DIR"))

    # PostgreSQL pool.
    db_pool_min_size: int = Field(1, ge=0)
    db_pool_max_size: int = Field(10, ge=1)
    db_connect_timeout_seconds: float = Field(10.0, gt=0)
    db_command_timeout_seconds: float = Field(30.0, gt=0)
    # PgBouncer in transaction mode cannot keep prepared statements per client: turn the cache off.
    db_pgbouncer: bool = False

    # API.
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_grace_seconds: float = Field(10.0, ge=0, description="on SIGTERM, how long requests in flight may finish")
    # The API's address as its clients reach it: status_url, Location and ping_url are built on it, never on a
    # request's Host header (which anyone can set). Unset: http://api_host:api_port.
    public_url: str | None = None
    api_max_body_bytes: int = Field(1024 * 1024, ge=1024, description="larger request bodies are refused with 413")
    api_max_header_bytes: int = Field(16384, ge=1024, description="a longer request line + headers is refused, 431")
    # Server processes behind the one port (uvicorn's supervisor restarts one that dies); unset: one per CPU this
    # process may run on (a container's CPU quota is not seen: set it there).
    api_workers: int = Field(default_factory=lambda: len(os.sched_getaffinity(0)), ge=1)
    # A verified API key is trusted this long in each API process before it is looked up again: a key revoked or
    # an organisation's tier changed elsewhere takes effect within this (at once in the process that changed it).
    api_key_cache_seconds: float = Field(5.0, ge=0, le=60)

    # The demo site `scanfleet up` serves on 127.0.0.1, the one loopback address its workers may scan (0: none).
    demo_port: int = Field(8001, ge=0, le=65535)

    # Workers.
    workers: int = Field(2, ge=0, description="worker processes started by `scanfleet up`")
    worker_max_jobs: int = Field(20, ge=1)
    # A worker takes the http engine's scans and test runs, or (browser) browser scans only, one page per slot.
    worker_engine: Literal["http", "browser"] = "http"
    browser_worker_pages: int = Field(2, ge=1, description="pages a browser worker runs at once (its memory)")
    worker_poll_delay_seconds: float = Field(0.05, gt=0)
    worker_metrics_port: int = Field(9200, ge=0, description="first worker's port; worker i uses port + i")
    # Deliveries of one job before it is failed as `worker_lost`: a job that kills its worker every time
    # must end. Hand-backs by a stopping worker do not count.
    job_max_tries: int = Field(5, ge=1)
    worker_grace_seconds: float = Field(
        25.0, ge=0, description="on SIGTERM, how long running jobs may finish before they are handed back"
    )
    # While PostgreSQL is away a finished result waits in the worker, retried with backoff, this long at most.
    result_hold_seconds: float = Field(3600.0, gt=0)

    # Retries of transient target failures (timeouts, resets, 5xx, 429), with exponential backoff and jitter.
    retry_max_privacy: int = Field(3, ge=0, description="retries of a privacy scan")
    retry_max_checks: int = Field(1, ge=0, description="retries of a test run that failed as a whole")
    retry_base_seconds: float = Field(2.0, ge=0, description="the first retry's longest wait")
    retry_cap_seconds: float = Field(300.0, ge=0, description="no retry waits longer")

    # Circuit breakers, shared by every replica through Redis.
    breaker_fail_max: int = Field(5, ge=1, description="transient failures in a row that open a target's circuit")
    breaker_reset_seconds: float = Field(30.0, gt=0, description="how long an open target circuit defers its jobs")
    breaker_give_up_seconds: float = Field(
        900.0, ge=0, description="a job still facing its target's open circuit this long after submission fails"
    )
    breaker_db_fail_max: int = Field(3, ge=1, description="failed PostgreSQL writes in a row that open its circuit")
    breaker_db_reset_seconds: float = Field(5.0, gt=0, description="how long workers wait before trying again")

    # Worker autoscaling: policy read by the scheduler (exported as a metric) and `scanfleet worker --autoscale`.
    autoscale_min_replicas: int = Field(1, ge=0)
    autoscale_max_replicas: int = Field(10, ge=1)
    autoscale_target_wait_seconds: float = Field(
        30.0, gt=0, description="oldest ready job's age above which the fleet is too small"
    )
    autoscale_jobs_per_replica: int = Field(20, ge=1, description="ready jobs one replica is expected to absorb")
    autoscale_step_up: int = Field(2, ge=1, description="replicas added per decision at most")
    autoscale_step_down: int = Field(1, ge=1, description="replicas removed per decision at most")
    autoscale_cooldown_seconds: float = Field(60.0, ge=0, description="quiet time after a change before scaling down")
    autoscale_interval_seconds: float = Field(2.0, gt=0)

    # Scheduler.
    scheduler_metrics_port: int = Field(9100, ge=0)
    metrics_host: str = "127.0.0.1"
    loop_stall_seconds: float = Field(
        30.0, gt=0, description="/healthz on a metrics port fails once the process's event loop is stuck this long"
    )
    scheduler_interval_seconds: float = Field(5.0, gt=0)
    partition_premake_days: int = Field(3, ge=2)
    requeue_after_seconds: float = Field(30.0, gt=0)
    reaper_interval_seconds: float = Field(1.0, gt=0)
    schedule_tick_seconds: float = Field(1.0, gt=0, description="how often the scheduler looks for due schedules")

    # Capacity gate.
    lease_seconds: float = Field(15.0, gt=0, description="a running job's lease; workers renew it every third")

    # Reuse: a scan of the same URL by the same org that succeeded this recently is returned instead of
    # a new one (0 turns reuse off; `fresh=true` skips it per request).
    scan_reuse_seconds: float = Field(300.0, ge=0)
    purge_deleted_after_seconds: float = Field(3600.0, ge=0)
    idempotency_keep_seconds: float = Field(86400.0, gt=0)
    # Retention: a day's partitions are detached and dropped once every row in them is this many days old.
    retention_days: int = Field(90, ge=1)
    # An organisation's erase removes its rows in transactions of about this many rows each.
    erase_batch_rows: int = Field(1000, ge=1)

    # Fetching targets.
    scan_timeout_seconds: float = Field(30.0, gt=0)
    run_timeout_seconds: float = Field(300.0, gt=0, description="a whole test run, every step and retry")
    fetch_connect_timeout_seconds: float = Field(5.0, gt=0)
    fetch_read_timeout_seconds: float = Field(10.0, gt=0)
    fetch_max_redirects: int = Field(10, ge=0)
    fetch_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    fetch_user_agent: str = "scanfleet/0.1 (+privacy scan)"
    # A PEM file of extra certificate authorities to trust (besides the system's), e.g. a corporate CA.
    fetch_ca_file: Path | None = None
    # Networks (e.g. 127.0.0.0/8 for local development) or single ip:port endpoints that may be fetched
    # although not public.
    fetch_allow_networks: Annotated[list[IPv4Network | IPv6Network | Endpoint], NoDecode] = []
    # Fixed addresses for names, as curl's --resolve / --connect-to: HOST:PORT:ADDRESS[:TARGETPORT], comma-separated.
    fetch_resolve: Annotated[ResolveMap, NoDecode] = ResolveMap()

    # The browser engine (worker/browser): Chromium through Playwright, every request through the SSRF guard.
    browser_executable: Path | None = Field(None, description="unset: chromium or chromium-browser on PATH")
    browser_page_seconds: float = Field(30.0, gt=0, description="load, settle and typing, per page")
    browser_settle_seconds: float = Field(2.5, ge=0, description="after the load event, for injected tags")
    browser_max_requests: int = Field(2000, ge=1, description="per page; the rest are blocked")
    browser_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="through the proxy per page, both ways")
    browser_pages_per_browser: int = Field(100, ge=1, description="pages before the browser is restarted")

    # Reports (GET …/report): PDFs printed by the API's own Chromium (browser_executable), launched on first use.
    report_pdf_concurrency: int = Field(2, ge=1, description="PDFs an API process prints at once")
    report_pdf_seconds: float = Field(20.0, gt=0, description="one PDF's budget, its wait for the browser included")
    # Share links (POST …/share): HMAC-signed with this secret, the same on every API replica. Unset: no sharing.
    report_share_secret: SecretStr | None = Field(None, min_length=32)
    report_share_max_seconds: int = Field(30 * 86400, ge=60, description="the longest a share link may last")
    report_share_requests_per_minute: int = Field(30, ge=1, description="per share link, shared by every replica")
    # Artifacts (screenshots, HARs, documents; README: Artifacts): a directory under data_dir, or S3-compatible storage.
    artifact_backend: Literal["local", "s3"] = "local"
    artifact_dir: Path | None = Field(None, description="the local backend's directory; unset: data_dir/artifacts")
    artifact_s3_bucket: str | None = None
    artifact_s3_endpoint: str | None = Field(None, description="an S3-compatible server's URL; unset: AWS's")
    artifact_s3_region: str = "us-east-1"
    # Unset: botocore's own chain (AWS_* variables, the shared config, an instance or pod role).
    artifact_s3_access_key_id: str | None = None
    artifact_s3_secret_access_key: SecretStr | None = None
    artifact_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="one artifact; a larger one is left out")
    artifact_job_max_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="all of one job's artifacts")
    artifact_document_max_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="the main document kept")
    artifact_url_seconds: int = Field(300, ge=1, le=604800, description="lifetime of an S3 download link")
    artifact_sweep_seconds: float = Field(3600.0, gt=0, description="time between sweeps for unreferenced blobs")
    artifact_sweep_grace_seconds: float = Field(
        7200.0, ge=0, description="a blob younger than this is never swept (its row may not be committed yet)"
    )
    breaker_storage_fail_max: int = Field(3, ge=1, description="failed artifact writes in a row that open its circuit")
    breaker_storage_reset_seconds: float = Field(30.0, gt=0, description="how long jobs wait for the store")

    # Webhooks, delivered by the scheduler (see README: Webhooks).
    webhook_interval_seconds: float = Field(1.0, gt=0, description="time between delivery rounds")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="one delivery: connect, send, answer")
    webhook_max_attempts: int = Field(12, ge=1, description="attempts at one event before it is failed")
    webhook_backoff_base_seconds: float = Field(30.0, ge=0, description="the first retry's longest wait")
    webhook_backoff_cap_seconds: float = Field(21600.0, ge=0, description="no retry waits longer")
    webhook_breaker_fail_max: int = Field(5, ge=1, description="failures in a row that open an endpoint's circuit")
    webhook_breaker_reset_seconds: float = Field(60.0, gt=0, description="how long an open circuit holds deliveries")
    webhook_keep_seconds: float = Field(604800.0, gt=0, description="delivered and failed events are kept this long")

    log_level: str = "INFO"
    # Traces: with the `otel` extra installed, each process exports its spans over OTLP/HTTP to this collector.
    otel_endpoint: str | None = Field(None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT"))

    @model_validator(mode="after")
    def _s3_bucket(self) -> Settings:
        if self.artifact_backend == "s3" and not self.artifact_s3_bucket:
            raise ValueError("SCANFLEET_ARTIFACT_S3_BUCKET must be set when SCANFLEET_ARTIFACT_BACKEND is s3")
        return self

    @model_validator(mode="after")
    def _sweep_outlasts_held_results(self) -> Settings:
        # A worker holds a result whose blobs it wrote for up to result_hold_seconds while PostgreSQL is away:
        # a sweep must not take those blobs before their rows commit.
        if self.artifact_sweep_grace_seconds <= self.result_hold_seconds:
            raise ValueError(
                f"SCANFLEET_ARTIFACT_SWEEP_GRACE_SECONDS ({self.artifact_sweep_grace_seconds:g}) must exceed"
                f" SCANFLEET_RESULT_HOLD_SECONDS ({self.result_hold_seconds:g}): a blob of a result a worker still"
                " holds would be swept"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else None

    @property
    def artifact_path(self) -> Path:
        return self.artifact_dir or self.data_dir / "artifacts"

    @property
    def api_base_url(self) -> str:
        """Where clients reach the API: public_url, else the address it listens on (loopback for every address)."""
        if self.public_url:
            return self.public_url
        # Listening on every address: this machine reaches it on loopback.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.api_host, self.api_host)  # noqa: S104
        return f"http://{f'[{host}]' if ':' in host else host}:{self.api_port}"

    @field_validator("fetch_allow_networks", "redis_sentinels", mode="before")
    @classmethod
    def _split_list(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if info.field_name == "fetch_allow_networks" and isinstance(value, list):
            return [allow_entry(item) if isinstance(item, str) else item for item in value]
        return value

    @field_validator("fetch_resolve", mode="before")
    @classmethod
    def _parse_resolve(cls, value: object) -> object:
        return parse_resolve(value) if isinstance(value, str) else value


@lru_cache
def get_settings() -> Settings:
    return Settings()
