"""Checks on a target URL before it is accepted: the rules are named so API errors can name them."""

from __future__ import annotations

import ipaddress
import re

import httpx

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253  # RFC 1035: a name of at most 255 octets on the wire
MAX_LABEL_LENGTH = 63
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]+(?<!-)")


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
    if url.port is not None and not 0 < url.port < 65536:
        return InvalidUrl("url_port", "the port must be 1-65535")
    return host_problem(url.host)


def normalise_target(value: str) -> str:
    """The URL as it will be fetched, or InvalidUrl naming the rule it breaks."""
    value = value.strip()
    if len(value) > MAX_URL_LENGTH:
        raise InvalidUrl("url_too_long", f"at most {MAX_URL_LENGTH} characters")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise InvalidUrl("url_parse", f"not a valid URL: {exc}") from None
    problem = hop_problem(url)
    if problem is not None:
        raise problem
    if url.userinfo:
        raise InvalidUrl("url_credentials", "URLs with credentials (user:password@) are refused")
    return str(url.copy_with(fragment=None))
