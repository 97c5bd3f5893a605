"""API keys over HTTP and the CLI: listed without secrets, revoked, rotated with a grace period, and their last use
recorded at most once a minute."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest

from scanfleet.config import Settings
from scanfleet.db import api_keys
from tests.conftest import Tenant, make_tenant
from tests.support.app import api_client
from tests.support.site import eventually


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_list_shows_every_key_and_no_secret(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant) -> None:
    second_id, _ = await api_keys.create(pool, tenant.org.id, "ci")
    listed = await api.get("/v1/keys", headers=tenant.headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [item["name"] for item in items] == ["test", "ci"] and items[1]["id"] == str(second_id)
    assert set(items[0]) == {"id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"}
    assert tenant.key.startswith(items[0]["prefix"]) and tenant.key not in listed.text
    assert items[0]["last_used_at"] is not None and items[1]["last_used_at"] is None
    other = await make_tenant(pool)
    assert [item["name"] for item in (await api.get("/v1/keys", headers=other.headers)).json()["items"]] == ["test"]


async def test_revoke_stops_a_key_and_another_orgs_key_is_404(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    key_id, key = await api_keys.create(pool, tenant.org.id, "leaked")
    other = await make_tenant(pool)
    assert (await api.delete(f"/v1/keys/{key_id}", headers=other.headers)).status_code == 404
    assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 200
    revoked = await api.delete(f"/v1/keys/{key_id}", headers=tenant.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await api.get("/v1/usage", headers=bearer(key))).status_code == 401
    assert (await api.delete(f"/v1/keys/{key_id}", headers=tenant.headers)).status_code == 404  # already
    assert (await api.delete(f"/v1/keys/{uuid.uuid4()}", headers=tenant.headers)).status_code == 404


async def test_rotation_shows_the_new_secret_once_and_ends_the_old_key_after_its_grace(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    key_id, old = await api_keys.create(pool, tenant.org.id, "deploy", (api_keys.ADMIN_SCOPE,))
    rotated = await api.post(f"/v1/keys/{key_id}/rotate", json={"grace_seconds": 3600}, headers=bearer(old))
    assert rotated.status_code == 201
    body = rotated.json()
    new = body["secret"]
    assert (body["name"], body["scopes"], body["replaces"]["id"]) == ("deploy", ["admin"], str(key_id))
    assert body["replaces"]["revoked_at"] > body["created_at"]  # in its grace period
    assert (await api.get("/v1/usage", headers=bearer(old))).status_code == 200
    assert (await api.get("/v1/usage", headers=bearer(new))).status_code == 200
    assert (await api.post(f"/v1/keys/{key_id}/rotate", headers=bearer(new))).status_code == 404  # rotated already

    again = await api.post(f"/v1/keys/{body['id']}/rotate", headers=bearer(new))  # no grace: the key stops now
    assert again.status_code == 201
    assert (await api.get("/v1/usage", headers=bearer(new))).status_code == 401
    assert (await api.get("/v1/usage", headers=bearer(again.json()["secret"]))).status_code == 200
    listed = (await api.get("/v1/keys", headers=tenant.headers)).json()["items"]
    assert new not in str(listed) and again.json()["secret"] not in str(listed)


async def test_the_last_working_admin_key_is_not_revoked_over_the_api(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    first, admin = await api_keys.create(pool, tenant.org.id, "ops", (api_keys.ADMIN_SCOPE,))
    second, _ = await api_keys.create(pool, tenant.org.id, "ops-2", (api_keys.ADMIN_SCOPE,))
    assert (await api.delete(f"/v1/keys/{second}", headers=bearer(admin))).status_code == 200
    refused = await api.delete(f"/v1/keys/{first}", headers=bearer(admin))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_admin_key"
    assert (await api.get("/v1/usage", headers=bearer(admin))).status_code == 200


async def test_last_use_is_written_once_a_minute_not_per_request(
    pool: asyncpg.Pool, tenant: Tenant, settings: Settings
) -> None:
    key_id, key = await api_keys.create(pool, tenant.org.id, "busy")
    assert await pool.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", key_id) is None
    # Looked up again (and its use recorded, when stale) once the process's trust in it has run out.
    async with api_client(settings.model_copy(update={"api_key_cache_seconds": 0.2})) as api:
        await api.get("/v1/usage", headers=bearer(key))
        first = await pool.fetchrow("SELECT last_used_at, xmin::text AS version FROM api_keys WHERE id = $1", key_id)
        assert first is not None and first["last_used_at"] is not None
        for _ in range(5):
            await api.get("/v1/usage", headers=bearer(key))
        later = await pool.fetchrow("SELECT last_used_at, xmin::text AS version FROM api_keys WHERE id = $1", key_id)
        assert later == first  # no write: not even the same value again
        await pool.execute("UPDATE api_keys SET last_used_at = now() - interval '61 seconds' WHERE id = $1", key_id)

        async def recorded() -> bool:
            await api.get("/v1/usage", headers=bearer(key))
            age = await pool.fetchval("SELECT now() - last_used_at FROM api_keys WHERE id = $1", key_id)
            return bool(age.total_seconds() < 5)

        await eventually(recorded, timeout=5)


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "SCANFLEET_DATA_DIR": "/nonexistent"}
    return subprocess.run(
        [sys.executable, "-m", "scanfleet", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_cli_lists_and_revokes_keys_and_names_a_missing_organisation(
    pool: asyncpg.Pool, tenant: Tenant, settings: Settings
) -> None:
    key_id, _ = await api_keys.create(pool, tenant.org.id, "laptop")
    listed = cli(settings, "key", "list", "--org", tenant.org.name)
    assert listed.returncode == 0, listed.stderr
    assert str(key_id) in listed.stdout and "laptop" in listed.stdout and tenant.key not in listed.stdout
    revoked = cli(settings, "key", "revoke", str(key_id), "--org", tenant.org.name)
    assert revoked.returncode == 0, revoked.stderr
    key = await api_keys.get(pool, tenant.org.id, key_id)
    assert key is not None and key.revoked_at is not None
    missing = cli(settings, "key", "create", "--org", "no-such-org", "--admin")
    assert missing.returncode != 0
    assert "scanfleet org create no-such-org" in missing.stderr


@pytest.mark.parametrize("body", [{"grace_seconds": -1}, {"grace_seconds": 7 * 86400 + 1}, {"grace": 5}])
async def test_rotation_grace_is_validated(api: httpx.AsyncClient, tenant: Tenant, body: dict[str, object]) -> None:
    key_id = (await api.get("/v1/keys", headers=tenant.headers)).json()["items"][0]["id"]
    response = await api.post(f"/v1/keys/{key_id}/rotate", json=body, headers=tenant.headers)
    assert response.status_code == 422
