"""Checks on a target URL before it is accepted: the rules are named so API errors can name them."""

from __future__ import annotations

import ipaddress
import re

import httpx

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253  # RFC 1035: a name of at most 255 octets on the wire
MAX_LABEL_LENGTH = 63
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]+(?<!-)")

# Every rule below as one regular expression, for the API's schema: an http(s) scheme, a host (an ASCII name whose
# last label starts with a letter, IDNs as punycode; a dotted-quad IPv4 address; an IPv6 address in brackets), an
# optional port, then no spaces or control characters. Space, tab and line breaks around it are trimmed.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_HEX = r"[0-9A-Fa-f]{1,4}"


def _hex_groups(count: int) -> str:
    return rf"{_HEX}(?::{_HEX}){{{count - 1}}}" if count else ""


_IPV6 = "|".join(
    [rf"{_HEX}(?::{_HEX}){{7}}"]
    + [rf"{_hex_groups(before)}::(?:{_HEX}(?::{_HEX}){{0,{6 - before}}})?" for before in range(7)]
    + [rf"{_hex_groups(7)}::"]
)
_HOST = rf"(?:(?:[A-Za-z0-9_-]+\.)*[A-Za-z][A-Za-z0-9_-]*\.?|{_OCTET}(?:\.{_OCTET}){{3}}|\[(?:{_IPV6})\])"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_TRIMMED = " \t\r\n"
TARGET_PATTERN = rf"^[{_TRIMMED}]*[Hh][Tt][Tt][Pp][Ss]?://{_HOST}(?::{_PORT})?(?:[/?#][^\x00-\x20\x7f]*)?[{_TRIMMED}]*$"
_TARGET = re.compile(TARGET_PATTERN)


class InvalidUrl(ValueError):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def host_problem(host: str) -> InvalidUrl | None:
    """The rule a host breaks, or None: an IP literal, or a DNS name whose labels are letters, digits, `-`
    and `_`. A percent-encoded name (`%31%32%37.0.0.2`) is refused, never decoded or handed to a resolver."""
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        pass
    else:
        return None
    name = host.removesuffix(".")
    if "%" in name:
        return InvalidUrl("url_host", "a percent-encoded host name is refused")
    if len(name) > MAX_HOST_LENGTH:
        return InvalidUrl("url_host", f"the host name is longer than {MAX_HOST_LENGTH} characters")
    labels = name.split(".")
    if any(len(label) > MAX_LABEL_LENGTH for label in labels):
        return InvalidUrl("url_host", f"a label of the host name is longer than {MAX_LABEL_LENGTH} characters")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return InvalidUrl("url_host", "the host name has an empty label or a character a DNS name cannot have")
    return None


def hop_problem(url: httpx.URL) -> InvalidUrl | None:
    """The rule a URL to be fetched breaks (the first one, and every redirect's), or None."""
    if url.scheme not in ("http", "https"):
        return InvalidUrl("url_scheme", "only http and https URLs are allowed")
    if not url.host:
        return InvalidUrl("url_host", "the URL has no host")
    return port_problem(url.port) or host_problem(url.host)


def normalise_target(value: str) -> str:
    """The URL as it will be fetched, or InvalidUrl naming the rule it breaks."""
    if len(value) > MAX_URL_LENGTH:
        raise InvalidUrl("url_too_long", f"at most {MAX_URL_LENGTH} characters")
    value = value.strip(_TRIMMED)
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, UnicodeError) as exc:  # a lone surrogate has no UTF-8 to percent-encode
        raise InvalidUrl("url_parse", f"not a valid URL: {exc}") from None
    problem = hop_problem(url)
    if problem is not None:
        raise problem
    if url.userinfo:
        raise InvalidUrl("url_credentials", "URLs with credentials (user:password@) are refused")
    if not _TARGET.fullmatch(value):
        raise InvalidUrl(
            "url_form", "the host must be an ASCII name (IDNs as xn--…), an IPv4 address or a bracketed IPv6 address,"
            " and the URL cannot hold spaces or control characters"
        )  # fmt: skip
    return str(url.copy_with(fragment=None))


def port_problem(port: int | None) -> InvalidUrl | None:
    """The rule a port breaks (httpx parses 0 and 99999 as ports; sockets refuse them), or None."""
    if port is not None and not 0 < port < 65536:
        return InvalidUrl("url_port", "the port must be 1-65535")
    return None
