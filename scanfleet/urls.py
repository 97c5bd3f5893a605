"""Checks on a target URL before it is accepted: the rules are named so API errors can name them."""

from __future__ import annotations

import httpx

MAX_URL_LENGTH = 2048


class InvalidUrl(ValueError):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def normalise_target(value: str) -> str:
    """The URL as it will be fetched, or InvalidUrl naming the rule it breaks."""
    value = value.strip()
    if len(value) > MAX_URL_LENGTH:
        raise InvalidUrl("url_too_long", f"at most {MAX_URL_LENGTH} characters")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise InvalidUrl("url_parse", f"not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise InvalidUrl("url_scheme", "only http and https URLs are allowed")
    if not url.host:
        raise InvalidUrl("url_host", "the URL has no host")
    problem = port_problem(url.port)
    if problem is not None:
        raise problem
    if url.userinfo:
        raise InvalidUrl("url_credentials", "URLs with credentials (user:password@) are refused")
    return str(url.copy_with(fragment=None))


def port_problem(port: int | None) -> InvalidUrl | None:
    """The rule a port breaks (httpx parses 0 and 99999 as ports; sockets refuse them), or None."""
    if port is not None and not 0 < port < 65536:
        return InvalidUrl("url_port", "the port must be 1-65535")
    return None
