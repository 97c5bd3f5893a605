"""The supervisor's bookkeeping of worker processes, with small stand-in processes for workers: who leaves
first, when a leaving one stops counting, which index (metrics port) a new one takes, and replacing the dead."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from scanfleet.autoscale.supervisor import Fleet
from scanfleet.supervisor import Child
from tests.support.site import eventually

# Stands in for `python -m scanfleet.worker`: says when its SIGTERM handler is in place, then on SIGTERM "drains" until
# the test creates a file named after its index.
STAND_IN = """
import os, pathlib, signal, sys, time
index = os.environ["SCANFLEET_WORKER_INDEX"]
draining = []
signal.signal(signal.SIGTERM, lambda *_: draining.append(1))
(pathlib.Path(sys.argv[1]) / f"ready-{index}-{os.getpid()}").touch()
while not (draining and (pathlib.Path(sys.argv[1]) / index).exists()):
    time.sleep(0.01)
"""


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    running = Fleet(dict(os.environ), stop_seconds=30, command=[sys.executable, "-c", STAND_IN, str(tmp_path)])
    yield running
    for index in range(8):
        (tmp_path / str(index)).touch()
    await running.drain_all()


def indexes(children: Iterable[Child]) -> list[str]:
    return [child.env["SCANFLEET_WORKER_INDEX"] for child in children]


async def scale_to(fleet: Fleet, desired: int, tmp_path: Path) -> None:
    """Scale, then wait until every active stand-in can take a SIGTERM without dying of it."""
    await fleet.scale_to(desired)

    async def ready() -> bool:
        return all(
            child.process and (tmp_path / f"ready-{child.env['SCANFLEET_WORKER_INDEX']}-{child.process.pid}").exists()
            for child in fleet.active
        )

    await eventually(ready)


async def test_the_newest_worker_leaves_first_and_counts_until_it_has_exited(fleet: Fleet, tmp_path: Path) -> None:
    await scale_to(fleet, 3, tmp_path)
    assert (fleet.replicas, indexes(fleet.active)) == (3, ["0", "1", "2"])

    await fleet.scale_to(2)
    fleet.reap()
    assert indexes(fleet.active) == ["0", "1"]
    assert (fleet.replicas, indexes(fleet.leaving.values())) == (3, ["2"])  # still draining

    (tmp_path / "2").touch()

    async def gone() -> bool:
        fleet.reap()
        return fleet.replicas == 2

    await eventually(gone)
    assert not fleet.leaving


async def test_a_new_worker_does_not_take_the_index_of_one_still_leaving(fleet: Fleet, tmp_path: Path) -> None:
    await scale_to(fleet, 2, tmp_path)
    await fleet.scale_to(1)  # worker 1 drains, holding its metrics port
    await scale_to(fleet, 2, tmp_path)
    assert indexes(fleet.active) == ["0", "2"]
    (tmp_path / "1").touch()

    async def gone() -> bool:
        fleet.reap()
        return not fleet.leaving

    await eventually(gone)
    await fleet.scale_to(3)
    assert indexes(fleet.active) == ["0", "2", "1"]  # its index is free again


async def test_a_worker_that_dies_is_forgotten_and_replaced(fleet: Fleet) -> None:
    await fleet.scale_to(2)
    victim = fleet.active[0].process
    assert victim is not None
    victim.send_signal(signal.SIGKILL)
    await victim.wait()

    fleet.reap()
    assert (fleet.replicas, indexes(fleet.active)) == (1, ["1"])
    await fleet.scale_to(2)
    assert indexes(fleet.active) == ["1", "0"]
    assert all(child.process and child.process.returncode is None for child in fleet.active)


async def test_a_worker_that_will_not_stop_is_killed_after_the_stop_time(tmp_path: Path) -> None:
    stubborn = Fleet(dict(os.environ), stop_seconds=0.3, command=[sys.executable, "-c", STAND_IN, str(tmp_path)])
    await scale_to(stubborn, 1, tmp_path)
    child = stubborn.active[0]
    await stubborn.drain_all()
    assert child.process is not None and child.process.returncode == -signal.SIGKILL
    assert stubborn.replicas == 0
