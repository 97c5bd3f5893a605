"""Request limits on the real server (uvicorn with the API's protocol): bodies over the limit are 413 and heads over
the limit 431, each with the API's JSON error, answered so the client reads it; the server goes on serving."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from scanfleet.config import Settings
from tests.conftest import Tenant
from tests.support.app import live_api


@pytest.fixture(scope="module")
async def base_url(settings: Settings) -> AsyncIterator[str]:
    async with live_api(settings) as url:
        yield url


async def test_a_body_over_the_limit_is_413_before_it_is_read(base_url: str, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=tenant.headers, timeout=30) as client:
        response = await client.post("/v1/scans", content=b"x" * (20 * 1024 * 1024))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"
        assert (await client.get("/v1/usage")).status_code == 200


async def test_a_chunked_body_over_the_limit_is_413(base_url: str, tenant: Tenant, settings: Settings) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit counts what arrives
        for _ in range(settings.api_max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    async with httpx.AsyncClient(base_url=base_url, headers=tenant.headers, timeout=30) as client:
        response = await client.post("/v1/runs", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"


async def test_a_head_over_the_limit_is_431(base_url: str, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.get("/v1/usage", headers={**tenant.headers, "X-Big": "y" * (1024 * 1024)})
        assert response.status_code == 431
        assert response.json()["error"]["code"] == "headers_too_large"
    async with httpx.AsyncClient(base_url=base_url, headers=tenant.headers, timeout=30) as client:
        assert (await client.get("/v1/usage")).status_code == 200
