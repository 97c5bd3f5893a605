"""Fixture services on 127.0.0.1 and a CheckEnv whose guard allows exactly loopback."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import httpx
import pytest
import trustme

from scanfleet.checks import HeartbeatState
from scanfleet.http import AddressPolicy, GuardedBackend, guarded_client
from scanfleet.worker.checks import CheckEnv, check_context
from tests.support.services import ApiService

LOOPBACK = AddressPolicy((ip_network("127.0.0.0/8"),))
CERT_DAYS = 10  # the HTTPS service's certificate runs out this many days from now


class Heartbeats(dict[uuid.UUID, HeartbeatState]):
    """The heartbeat store a worker would query, in memory."""

    async def __call__(self, heartbeat_id: uuid.UUID) -> HeartbeatState | None:
        return self.get(heartbeat_id)


@pytest.fixture(scope="session")
def service() -> Iterator[ApiService]:
    with ApiService() as running:
        yield running


@pytest.fixture(scope="session")
def tls_service(ca: trustme.CA) -> Iterator[ApiService]:
    # A short-lived certificate, so days-left assertions have something to find.
    with ApiService(ca, not_after=datetime.now(UTC) + timedelta(days=CERT_DAYS, hours=1)) as running:
        yield running


@pytest.fixture(scope="session")
async def check_client(ca: trustme.CA) -> AsyncIterator[httpx.AsyncClient]:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with guarded_client(LOOPBACK, context, timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def heartbeats() -> Heartbeats:
    return Heartbeats()


@pytest.fixture
def env(check_client: httpx.AsyncClient, ca: trustme.CA, heartbeats: Heartbeats) -> CheckEnv:
    tls_context = check_context()
    ca.configure_trust(tls_context)
    return CheckEnv(check_client, GuardedBackend(LOOPBACK), tls_context, heartbeats)
