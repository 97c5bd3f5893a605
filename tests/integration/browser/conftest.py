"""A browser runtime on the fake internet: every host answers from 127.0.0.1, which alone the guard allows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest
import trustme

from scanfleet.http import AddressPolicy, GuardedBackend
from scanfleet.model import Outcome
from scanfleet.worker.browser import BrowseLimits, BrowserRuntime, browse
from tests.integration.browser.sites import HOSTS, SHOP, build_sites
from tests.support.internet import Internet

ONLY_127_0_0_1 = AddressPolicy((ip_network("127.0.0.1/32"),))
# Short settle: the fake vendors inject their tags within milliseconds; a real page needs seconds.
LIMITS = BrowseLimits(page_seconds=15, settle_seconds=0.5)


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browser-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def internet(ca: trustme.CA) -> Iterator[Internet]:
    with Internet(ca, HOSTS) as running:
        build_sites(running)
        yield running


def runtime_for(internet: Internet, ca_file: Path, **options: object) -> BrowserRuntime:
    return BrowserRuntime(GuardedBackend(ONLY_127_0_0_1, internet.resolve_map), ca_file=ca_file, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def runtime(internet: Internet, ca_file: Path) -> AsyncIterator[BrowserRuntime]:
    async with runtime_for(internet, ca_file) as running:
        yield running


@pytest.fixture(scope="session")
async def shop(runtime: BrowserRuntime) -> Outcome:
    """One browser scan of the fake shop, shared by the tests that read its evidence."""
    return await browse(runtime, SHOP, LIMITS)
