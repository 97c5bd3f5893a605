"""Where a step may point: an http(s) URL, or a host and port. Checked at validation and again at run time,
once placeholders are filled in."""

from __future__ import annotations

import contextlib
import re
from typing import Annotated

import httpx
from pydantic import AfterValidator, Field

from scanfleet.checks.errors import rule_error
from scanfleet.checks.template import PLACEHOLDER
from scanfleet.urls import InvalidUrl, host_problem, normalise_target

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@")


def url_problem(url: str) -> InvalidUrl | None:
    """The rule `url` breaks, or None. Unlike a scan target, a check URL may carry user:password@
    (it becomes basic auth and is stripped from evidence); every other URL rule of the platform applies."""
    with contextlib.suppress(httpx.InvalidURL):  # normalise_target names the parse error
        url = str(httpx.URL(url).copy_with(userinfo=b""))
    try:
        normalise_target(url)
    except InvalidUrl as exc:
        return exc
    return None


def without_userinfo(url: str | httpx.URL) -> str:
    """The URL as evidence may show it: no user:password@ (placeholders or not)."""
    return _USERINFO.sub(r"\1", str(url), count=1)


def valid_host(host: str) -> bool:
    """A DNS name or an IP literal (IPv6 with or without brackets), by the rule scan targets follow."""
    return host_problem(host) is None


def checked_url(url: str) -> str:
    """A validator: the URL's rules, as far as they are known before its placeholders are filled in."""
    if not url_from_variable(url):
        problem = url_problem(PLACEHOLDER.sub("x", url))  # each placeholder as a harmless sample
        if problem is not None:
            raise rule_error(problem.rule, problem.message)
    return url


def url_from_variable(url: str) -> bool:
    """A URL that starts with a placeholder gets its scheme and host at run time: it is checked then.
    Any other keeps the scheme and host it was validated with, whatever its placeholders hold."""
    return url.lstrip().startswith("{{")


CheckedUrl = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(checked_url)]
