"""Session fixtures: real PostgreSQL and Valkey (embedded from wheels unless URLs are given).

Set SCANFLEET_TEST_DATABASE_URL (a server where the tests may create databases) and
SCANFLEET_TEST_REDIS_URL to run against servers of your own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_network
from pathlib import Path

import asyncpg
import httpx
import pytest
import trustme
from arq import Worker
from arq.connections import ArqRedis

from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import GateKeys
from scanfleet.config import Settings
from scanfleet.db import api_keys, orgs
from scanfleet.db.pool import create_pool
from scanfleet.embedded import EmbeddedPostgres, EmbeddedValkey
from scanfleet.supervisor import create_database, prepare_schema
from tests.support.app import api_client, running_worker, serving
from tests.support.seaweed import SeaweedS3
from tests.support.site import FixtureSite


@pytest.fixture(scope="session")
def server_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(admin PostgreSQL URL, Redis URL)."""
    database_url = os.environ.get("SCANFLEET_TEST_DATABASE_URL")
    redis_url = os.environ.get("SCANFLEET_TEST_REDIS_URL")
    started: list[EmbeddedPostgres | EmbeddedValkey] = []
    root: Path = tmp_path_factory.mktemp("servers")
    if not database_url:
        postgres = EmbeddedPostgres(root / "postgres")
        database_url = postgres.start()
        started.append(postgres)
    if not redis_url:
        valkey = EmbeddedValkey(root / "valkey")
        redis_url = valkey.start()
        started.append(valkey)
    yield database_url, redis_url
    for server in started:
        server.stop()


def _database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


async def fresh_database(settings: Settings, admin_url: str) -> str:
    """A new, empty database on the test server; returns its URL."""
    name = f"scanfleet_test_{uuid.uuid4().hex[:12]}"
    await create_database(settings, admin_url, name)
    return _database_url(admin_url, name)


@pytest.fixture
async def own_database(
    settings: Settings, server_urls: tuple[str, str]
) -> AsyncIterator[tuple[Settings, asyncpg.Pool]]:
    """A migrated database of the test's own, with a pool on it: for what other tests' rows would disturb."""
    url = await fresh_database(settings, server_urls[0])
    fresh = settings.model_copy(update={"database_url": url})
    await prepare_schema(fresh, url)
    async with await create_pool(fresh) as pool:
        yield fresh, pool


# Redis database number -> the test module using it; database 0 is the session's (its in-process worker's) own.
_REDIS_DATABASES: dict[int, str] = {}


def own_redis(settings: Settings, number: int, owner: str) -> Settings:
    """`settings` on Redis database `number` of the session's server, for a test (module `owner`) whose processes
    must not take the session's jobs, nor the session's worker theirs. A number is one module's only."""
    assert settings.redis_url is not None
    claimed = _REDIS_DATABASES.setdefault(number, owner)
    assert claimed == owner, f"Redis database {number} is already {claimed}'s"
    return settings.model_copy(update={"redis_url": f"{settings.redis_url.rsplit('/', 1)[0]}/{number}"})


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A real S3-compatible server (SeaweedFS from its wheel), for the artifact store's S3 backend."""
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.kill()  # a graceful stop takes 25 s, and nothing of it is needed after the session


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> trustme.CA:
    """The test CA: fixture HTTPS sites use its certificates, and the platform trusts it via fetch_ca_file."""
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_site(ca: trustme.CA) -> Iterator[FixtureSite]:
    with FixtureSite(ca) as running:
        yield running


@pytest.fixture(scope="session")
async def settings(server_urls: tuple[str, str], ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    admin_url, redis_url = server_urls
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    base = Settings(
        fetch_ca_file=ca_file,
        _env_file=None,
        redis_url=redis_url,
        fetch_allow_networks=[ip_network("127.0.0.0/8")],
        scan_timeout_seconds=5,
        fetch_connect_timeout_seconds=2,
        fetch_read_timeout_seconds=2,
        worker_poll_delay_seconds=0.01,
        worker_metrics_port=0,
        scheduler_metrics_port=0,
        db_pool_max_size=10,
        # Tests share one target host (127.0.0.1) and expect a failing target's scan to end at once: retries
        # and circuits are exercised by their own tests, with their own workers.
        retry_max_privacy=0,
        retry_max_checks=0,
        breaker_fail_max=1_000_000,
        artifact_dir=tmp_path_factory.mktemp("artifacts"),  # the local store, never the working directory's
    )
    database_url = await fresh_database(base, admin_url)
    settings = base.model_copy(update={"database_url": database_url})
    await prepare_schema(settings, database_url)
    return settings


@pytest.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    async with await create_pool(settings) as pool:
        yield pool


@pytest.fixture(scope="session")
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    redis = await connection.connect(settings)
    yield redis
    await redis.aclose()


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as running:
        yield running


class Tenant:
    def __init__(self, org: orgs.Org, key: str) -> None:
        self.org = org
        self.key = key
        self.headers = {"Authorization": f"Bearer {key}"}


async def make_tenant(pool: asyncpg.Pool, tier: str = "pro") -> Tenant:
    org = await orgs.create(pool, f"org-{uuid.uuid4().hex[:8]}", tier)
    _, key = await api_keys.create(pool, org.id, "test")
    return Tenant(org, key)


@pytest.fixture
async def tenant(pool: asyncpg.Pool) -> Tenant:
    return await make_tenant(pool)


@pytest.fixture(scope="session")
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings) as client:
        yield client


@pytest.fixture(scope="session")
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    """An arq worker running in the test's event loop, as a real worker would against real Redis."""
    async with running_worker(settings) as running:
        yield running


@pytest.fixture
async def own_valkey(tmp_path: Path) -> AsyncIterator[EmbeddedValkey]:
    """A Valkey of the test's own, which it may stop and start (and whose every command is the test's)."""
    async with serving(EmbeddedValkey(tmp_path / "valkey")) as server:
        yield server


@pytest.fixture
async def gate(queue: ArqRedis) -> AsyncIterator[Gate]:
    """A gate of its own (key prefix and arq queue), out of reach of the session's worker."""
    name = f"t{uuid.uuid4().hex[:10]}"
    isolated = Gate(queue, GateKeys(prefix=f"{name}:gate:", queue=f"{name}:queue"))
    yield isolated
    keys = [key async for key in queue.scan_iter(match=f"{name}:*")]
    if keys:
        await queue.delete(*keys)
