"""The worker of a process of its own freezes the heap once started; one built inside another process does not."""

from __future__ import annotations

import asyncio
import contextlib
from unittest import mock

from scanfleet.config import Settings
from tests.conftest import own_redis
from tests.support.site import eventually

REDIS_DB = 12  # its workers must not take the session's jobs


async def _freezes_once_started(settings: Settings, freeze_heap: bool) -> int:
    from scanfleet.worker.app import build_worker

    own = own_redis(settings, REDIS_DB, __name__)
    with mock.patch("scanfleet.heap.freeze", return_value=1) as freeze:
        worker = build_worker(own, freeze_heap=freeze_heap, handle_signals=False)
        running = asyncio.create_task(worker.async_run())

        async def started() -> bool:
            return "background" in worker.ctx  # the last thing startup sets

        try:
            await eventually(started)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await worker.close()
        return freeze.call_count


async def test_a_process_s_own_worker_freezes_its_heap_once_started(settings: Settings) -> None:
    assert await _freezes_once_started(settings, freeze_heap=True) == 1


async def test_a_worker_built_in_another_process_leaves_its_heap_alone(settings: Settings) -> None:
    assert await _freezes_once_started(settings, freeze_heap=False) == 0
