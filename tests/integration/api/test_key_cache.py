"""A verified API key is trusted for SCANFLEET_API_KEY_CACHE_SECONDS in the process that verified it: a revocation
or rotation made there applies at once, one made elsewhere (the CLI, another API process) within that time, and a
rotated key is never trusted past its grace period."""

from __future__ import annotations

import time

import asyncpg
import httpx

from scanfleet.config import Settings
from scanfleet.db import api_keys
from tests.conftest import Tenant
from tests.support.app import api_client
from tests.support.site import eventually


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_revoked_elsewhere_stops_within_the_cache_time(
    pool: asyncpg.Pool, tenant: Tenant, settings: Settings
) -> None:
    key_id, key = await api_keys.create(pool, tenant.org.id, "revoked elsewhere")
    async with api_client(settings.model_copy(update={"api_key_cache_seconds": 1.0})) as api:
        assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 200
        assert await api_keys.revoke(pool, tenant.org.id, key_id) is not None  # as `scanfleet key revoke` does
        revoked = time.monotonic()

        async def refused() -> bool:
            return (await api.get("/v1/usage", headers=bearer(key))).status_code == 401

        await eventually(refused, timeout=5)
        assert time.monotonic() - revoked < 1.0 + 0.5  # the cache's time, and a poll's slack


async def test_a_key_revoked_through_this_process_stops_at_once(
    pool: asyncpg.Pool, tenant: Tenant, settings: Settings
) -> None:
    key_id, key = await api_keys.create(pool, tenant.org.id, "revoked here")
    async with api_client(settings.model_copy(update={"api_key_cache_seconds": 60.0})) as api:
        assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 200
        assert (await api.delete(f"/v1/keys/{key_id}", headers=tenant.headers)).status_code == 200
        assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 401


async def test_a_rotated_key_is_not_trusted_past_its_grace_period(
    pool: asyncpg.Pool, tenant: Tenant, settings: Settings
) -> None:
    key_id, key = await api_keys.create(pool, tenant.org.id, "rotated")
    async with api_client(settings.model_copy(update={"api_key_cache_seconds": 60.0})) as api:
        assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 200
        rotated = await api.post(f"/v1/keys/{key_id}/rotate", json={"grace_seconds": 1}, headers=bearer(key))
        assert rotated.status_code == 201
        assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 200  # in its grace period

        async def refused() -> bool:
            return (await api.get("/v1/usage", headers=bearer(key))).status_code == 401

        await eventually(refused, timeout=5)  # long before the cache's 60 s
        assert (await api.get("/v1/usage", headers=bearer(rotated.json()["secret"]))).status_code == 200


async def test_an_unknown_key_is_refused_and_a_new_key_works_at_once(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    assert (await api.get("/v1/usage", headers=bearer("sf_not-a-key"))).status_code == 401
    _, key = await api_keys.create(pool, tenant.org.id, "new")
    assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 200
