"""Checks on a target URL before it is accepted: the rules are named so API errors can name them."""

from __future__ import annotations

import re

import httpx

MAX_URL_LENGTH = 2048

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


def normalise_target(value: str) -> str:
    """The URL as it will be fetched, or InvalidUrl naming the rule it breaks."""
    if len(value) > MAX_URL_LENGTH:
        raise InvalidUrl("url_too_long", f"at most {MAX_URL_LENGTH} characters")
    value = value.strip(_TRIMMED)
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise InvalidUrl("url_parse", f"not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise InvalidUrl("url_scheme", "only http and https URLs are allowed")
    if not url.host:
        raise InvalidUrl("url_host", "the URL has no host")
    if url.userinfo:
        raise InvalidUrl("url_credentials", "URLs with credentials (user:password@) are refused")
    if not _TARGET.fullmatch(value):
        raise InvalidUrl(
            "url_form", "the host must be an ASCII name (IDNs as xn--…), an IPv4 address or a bracketed IPv6 address,"
            " and the URL cannot hold spaces or control characters"
        )  # fmt: skip
    return str(url.copy_with(fragment=None))
