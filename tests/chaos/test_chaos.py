"""The short chaos run: workers killed and rolled, Valkey restarted with and without its data,
PostgreSQL stopped, a dead and a flaky target in the mix — and no accepted job lost or written twice."""

from __future__ import annotations

import pytest

from tests.chaos.config import SHORT
from tests.chaos.harness import run_chaos

pytestmark = pytest.mark.chaos


async def test_short_chaos_run_loses_nothing_and_writes_nothing_twice(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A short directory name: PostgreSQL's socket path (under its data directory) is limited to 107 bytes.
    workdir = tmp_path_factory.mktemp("chaos")
    report = await run_chaos(SHORT, workdir)
    print(report.table())  # shown with -s, and in the failure report
    summary = f"{report.table()}\n{report.details()}\nlogs: {workdir / 'logs'}"
    assert report.duplicates == 0, summary
    assert report.lost == 0, summary
    assert report.slots_held == 0, summary
