"""SCANFLEET_FETCH_RESOLVE entries: curl's --resolve and --connect-to forms, parsed once, refused when malformed."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from pydantic import ValidationError

from scanfleet.config import Settings
from scanfleet.http import ResolveRule, parse_resolve


def test_entries_in_both_forms_and_with_wildcards() -> None:
    mapping = parse_resolve("shop.example:443:10.0.0.5, *:80:127.0.0.1:8080 ,api.example:*:[::1]:9000")
    assert mapping.rules == (
        ResolveRule("shop.example", 443, ip_address("10.0.0.5")),
        ResolveRule(None, 80, ip_address("127.0.0.1"), 8080),
        ResolveRule("api.example", None, ip_address("::1"), 9000),
    )


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("shop.example", 443, ("10.0.0.5", 443)),  # --resolve: the port stays
        ("SHOP.Example.", 443, ("10.0.0.5", 443)),  # names compare as DNS does
        ("shop.example", 80, ("127.0.0.1", 8080)),  # the first matching entry wins
        ("other.example", 80, ("127.0.0.1", 8080)),
        ("other.example", 8443, ("127.0.0.2", 7443)),
        ("other.example", 443, None),  # no entry: resolved as usual
    ],
)
def test_the_first_matching_entry_applies(host: str, port: int, expected: tuple[str, int] | None) -> None:
    mapping = parse_resolve("shop.example:443:10.0.0.5,*:80:127.0.0.1:8080,*:8443:127.0.0.2:7443")
    found = mapping.lookup(host, port)
    assert (None if found is None else (str(found[0]), found[1])) == expected


def test_an_ip_literal_can_be_mapped_too() -> None:
    assert parse_resolve("[2001:db8::1]:443:127.0.0.1").lookup("[2001:db8::1]", 443) == (ip_address("127.0.0.1"), 443)


def test_an_empty_setting_maps_nothing() -> None:
    assert not parse_resolve("") and not parse_resolve(" , ")
    assert not Settings().fetch_resolve


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("shop.example:443", "is not HOST:PORT:ADDRESS"),
        ("shop.example:443:localhost", "is not HOST:PORT:ADDRESS"),  # an address, not a name
        ("shop.example:443:::1", "is not HOST:PORT:ADDRESS"),  # IPv6 needs brackets
        ("shop.example:https:10.0.0.5", "is not HOST:PORT:ADDRESS"),
        ("shop.example:443:10.0.0.5:", "is not HOST:PORT:ADDRESS"),
        ("shop.example:443:10.0.0.5:80:81", "is not HOST:PORT:ADDRESS"),
        ("shop.example:443:300.1.1.1", "'300.1.1.1' is not an IP address"),
        ("shop.example:0:10.0.0.5", "port 0 is not between 1 and 65535"),
        ("shop.example:443:10.0.0.5:70000", "port 70000 is not between 1 and 65535"),
    ],
)
def test_a_malformed_entry_fails_settings_validation_naming_it(
    monkeypatch: pytest.MonkeyPatch, entry: str, says: str
) -> None:
    monkeypatch.setenv("SCANFLEET_FETCH_RESOLVE", f"*:80:127.0.0.1,{entry}")
    with pytest.raises(ValidationError) as caught:
        Settings()
    [error] = caught.value.errors()
    assert error["loc"] == ("fetch_resolve",)
    assert repr(entry) in error["msg"] and says in error["msg"]


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANFLEET_FETCH_RESOLVE", "*:443:127.0.0.1:8443,*:80:127.0.0.1:8080")
    assert Settings().fetch_resolve.lookup("example.com", 443) == (ip_address("127.0.0.1"), 8443)
