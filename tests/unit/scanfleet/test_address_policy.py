from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from scanfleet.http.guard import AddressPolicy

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "240.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().permits(ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"])
def test_public_addresses_are_permitted(address: str) -> None:
    assert AddressPolicy().permits(ip_address(address))


def test_allow_list_opens_only_its_networks() -> None:
    policy = AddressPolicy((ip_network("127.0.0.0/8"),))
    assert policy.permits(ip_address("127.0.0.1"))
    assert policy.permits(ip_address("::ffff:127.0.0.2"))
    assert not policy.permits(ip_address("10.0.0.1"))
    assert not policy.permits(ip_address("169.254.169.254"))
