"""Schemathesis against the real API (uvicorn on loopback, PostgreSQL and Valkey of the test session), every check
and the stateful phase, a bounded number of examples and a fixed seed: no 5xx, no answer its schema does not
describe, no undocumented status, no valid request refused."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import pytest

from scanfleet.config import Settings
from scanfleet.db import orgs
from tests.conftest import make_tenant
from tests.support.app import live_api

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20260101


@pytest.mark.timeout(330)  # over 40 operations, every phase: about 150 s on a quiet machine
async def test_schemathesis_finds_nothing(settings: Settings, pool: asyncpg.Pool, tmp_path: Path) -> None:
    tenant = await make_tenant(pool, "enterprise")
    # Room for everything the run submits: no queue_full answers to tell apart from real refusals.
    await orgs.set_capacity(pool, tenant.org.id, "enterprise", 0, 1_000_000)
    async with live_api(settings) as base:
        command = [
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", f"{base}/openapi.json",
            # use_after_free takes every DELETE for a removal; a queued or running scan's or run's DELETE cancels it,
            # and the cancelled job stays readable (README). The other resources' DELETEs are 404 after, tested apart.
            "--checks", "all", "--exclude-checks", "use_after_free",
            "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "10",
            "--seed", str(SEED), "--generation-deterministic", "--workers", "1", "--no-color",
            # JSON text is UTF-8: lone surrogates are refused (422) as text PostgreSQL could not store.
            "--generation-codec", "utf-8",
            "-H", f"Authorization: Bearer {tenant.key}",
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(  # its caches (.schemathesis/) go to the test's directory
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=320)
    report = output.decode(errors="replace")
    print(report)  # the phases' counts, seen with -s
    assert process.returncode == 0, report
