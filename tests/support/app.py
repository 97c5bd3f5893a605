"""The API app, an arq worker and servers of a test's own, in the test's event loop, as the real processes run them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import asyncpg
import httpx

from scanfleet.broker.gate import Gate
from scanfleet.broker.worker import FleetWorker
from scanfleet.config import Settings
from scanfleet.db.store import PgJobStore
from scanfleet.embedded import EmbeddedPostgres, EmbeddedValkey
from scanfleet.lifecycle import Lifecycle

Server = TypeVar("Server", EmbeddedPostgres, EmbeddedValkey)


def lifecycle(pool: asyncpg.Pool, gate: Gate) -> Lifecycle:
    """The job lifecycle over the test's database and gate, as the scheduler builds it."""
    return Lifecycle(PgJobStore(pool), gate)


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from scanfleet.api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scanfleet.test") as client:
            yield client


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[FleetWorker]:
    """An arq worker in this event loop, stopped as a deploy would: no new jobs, running ones finish."""
    from scanfleet.worker.app import build_worker

    worker = build_worker(settings, handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if worker.tasks:
            await asyncio.wait(list(worker.tasks.values()), timeout=30)
        await worker.close()


@contextlib.asynccontextmanager
async def running_scheduler(settings: Settings) -> AsyncIterator[None]:
    """The scheduler's rounds in this event loop, stopped as SIGTERM stops them."""
    from scanfleet.scheduler.__main__ import run

    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def serving(server: Server) -> AsyncIterator[Server]:
    """A server of the test's own, which it may stop and start again (the session's servers must stay up)."""
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def live_api(settings: Settings) -> AsyncIterator[str]:
    """The API as `python -m scanfleet.api` serves it (uvicorn, its protocol and limits) on a loopback port of its
    own, in this event loop; yields its base URL."""
    import uvicorn

    from scanfleet.api import server
    from scanfleet.api.app import create_app
    from scanfleet.embedded import free_port

    port = free_port()
    settings = settings.model_copy(update={"api_host": "127.0.0.1", "api_port": port})
    running = uvicorn.Server(server.config(create_app(settings), settings, timeout_graceful_shutdown=1))
    task = asyncio.create_task(running.serve())
    try:
        while not running.started:
            if task.done():
                task.result()  # raises why it could not start
            await asyncio.sleep(0.01)
        yield settings.api_base_url
    finally:
        running.should_exit = True
        await task
