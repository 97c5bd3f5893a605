from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address, ip_network

import pytest

from scanfleet.addresses import SPECIAL_RANGES, Endpoint, allow_entry, non_public
from scanfleet.http.guard import AddressPolicy

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fec0::1",  # site-local (deprecated)
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "2001::1",  # Teredo
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::127.0.0.2",  # IPv4-compatible
    "::ffff:0:7f00:2",  # IPv4-translated: ::ffff:0:127.0.0.2
    "64:ff9b::7f00:2",  # NAT64 of 127.0.0.2
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::7f00:2",  # local-use NAT64
    "2002:7f00:2::",  # 6to4 over 127.0.0.2
    "2002:c0a8:101::1",  # 6to4 over 192.168.1.1
    "5f00::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().permits(ip_address(address))


PUBLIC = [
    "93.184.215.14",
    "8.8.8.8",
    "192.0.0.9",  # PCP anycast: globally reachable inside 192.0.0.0/24
    "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 over 8.8.8.8
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_permitted(address: str) -> None:
    assert AddressPolicy().permits(ip_address(address))


def _embedded_forms(ipv4: IPv4Address) -> list[IPv6Address]:
    low = int(ipv4)
    return [
        IPv6Address(0xFFFF << 32 | low),  # ::ffff:a.b.c.d
        IPv6Address(0xFFFF << 48 | low),  # ::ffff:0:a.b.c.d
        IPv6Address(low),  # ::a.b.c.d
        IPv6Address(int(IPv6Address("64:ff9b::")) | low),
        IPv6Address(0x2002 << 112 | low << 80),
    ]


NON_PUBLIC_IPV4 = [row.network for row in SPECIAL_RANGES if row.network.version == 4 and not row.reachable]


@pytest.mark.parametrize("network", NON_PUBLIC_IPV4, ids=str)
def test_every_embedding_of_a_non_public_ipv4_address_is_judged_by_the_same_table(network: IPv4Network) -> None:
    inside = network[network.num_addresses // 2]
    assert non_public(inside) is not None
    for form in _embedded_forms(inside):
        reason = non_public(form)
        assert reason is not None and str(inside) in reason, form


def test_the_table_is_the_projects_own_not_this_pythons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python releases disagree on is_global/is_private (CVE-2024-4032); the guard must not move with them."""
    decisions = {address: AddressPolicy().permits(ip_address(address)) for address in REFUSED + PUBLIC}
    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        monkeypatch.setattr(cls, "is_global", property(lambda self: True))
        monkeypatch.setattr(cls, "is_private", property(lambda self: False))
        monkeypatch.setattr(cls, "is_multicast", property(lambda self: False))
    assert {address: AddressPolicy().permits(ip_address(address)) for address in decisions} == decisions


def test_allow_list_opens_only_its_networks() -> None:
    policy = AddressPolicy((ip_network("127.0.0.0/8"),))
    assert policy.permits(ip_address("127.0.0.1"))
    assert policy.permits(ip_address("::ffff:127.0.0.2"))  # the same address, as a dual-stack socket names it
    assert not policy.permits(ip_address("10.0.0.1"))
    assert not policy.permits(ip_address("169.254.169.254"))
    assert not policy.permits(ip_address("64:ff9b::7f00:2"))  # a NAT64 gateway's address, not 127.0.0.2
    assert AddressPolicy((ip_network("64:ff9b::/96"),)).permits(ip_address("64:ff9b::7f00:2"))


def test_an_allowed_endpoint_opens_one_port_of_one_address() -> None:
    policy = AddressPolicy((allow_entry("127.0.0.1:8001"),))
    assert policy.permits(ip_address("127.0.0.1"), 8001)
    assert policy.permits(ip_address("::ffff:127.0.0.1"), 8001)
    assert not policy.permits(ip_address("127.0.0.1"), 8000)  # the API on the same address stays shut
    assert not policy.permits(ip_address("127.0.0.2"), 8001)
    assert not policy.permits(ip_address("127.0.0.1"))


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("127.0.0.0/8", ip_network("127.0.0.0/8")),
        ("10.0.0.1", ip_network("10.0.0.1/32")),
        ("fc00::/7", ip_network("fc00::/7")),
        ("::1", ip_network("::1/128")),
        ("127.0.0.1:8001", Endpoint(ip_address("127.0.0.1"), 8001)),
        ("[::1]:8001", Endpoint(ip_address("::1"), 8001)),
    ],
)
def test_allow_entries_are_networks_or_endpoints(text: str, entry: object) -> None:
    assert allow_entry(text) == entry
    assert allow_entry(str(entry)) == entry  # written back into a child's environment, it reads the same


def test_a_refusal_names_the_range() -> None:
    assert non_public(ip_address("::127.0.0.2")) == "IPv4-compatible form of 127.0.0.2, loopback"
    assert non_public(ip_address("fec0::1")) == "site-local (deprecated)"
    assert non_public(ip_address("::1")) == "loopback"
