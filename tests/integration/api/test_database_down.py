"""PostgreSQL stopped under a running API: requests get 503 with Retry-After and nothing is accepted;
once it is back the same API serves again without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from scanfleet.config import Settings
from scanfleet.db.pool import create_pool
from scanfleet.embedded import EmbeddedPostgres
from scanfleet.supervisor import prepare_schema
from tests.conftest import make_tenant, own_redis
from tests.support.app import serving

OWN_REDIS_DB = 8  # the session's worker must not take these jobs: their rows live in another server


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    async with serving(EmbeddedPostgres(tmp_path / "postgres")) as server:
        yield server


async def test_requests_get_503_while_the_database_is_down_and_succeed_once_it_is_back(
    own_postgres: EmbeddedPostgres, settings: Settings
) -> None:
    from scanfleet.api.app import create_app

    own = own_redis(settings, OWN_REDIS_DB, __name__).model_copy(
        update={"database_url": own_postgres.url(), "db_connect_timeout_seconds": 2}
    )
    await prepare_schema(own, own_postgres.url())
    setup = await create_pool(own)
    tenant = await make_tenant(setup)
    await setup.close()
    app = create_app(own)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scanfleet.test") as api:
            submit = {"url": "http://127.0.0.1:9/", "fresh": True}
            assert (await api.post("/v1/scans", json=submit, headers=tenant.headers)).status_code == 202

            await asyncio.to_thread(own_postgres.stop)
            refused = await api.post("/v1/scans", json=submit, headers=tenant.headers)
            listed = await api.get("/v1/scans", headers=tenant.headers)

            await asyncio.to_thread(own_postgres.start)
            accepted = await api.post(
                "/v1/scans", json={**submit, "url": "http://127.0.0.1:10/"}, headers=tenant.headers
            )
            scans = (await api.get("/v1/scans", headers=tenant.headers)).json()

    for response in (refused, listed):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
        assert int(response.headers["retry-after"]) > 0
    assert accepted.status_code == 202
    assert len(scans["items"]) == 2  # the refused submission left nothing behind
