"""What a run needs from its host process, and what the steps of one run share."""

from __future__ import annotations

import contextlib
import ssl
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING

import httpx

from scanfleet.checks import HeartbeatState
from scanfleet.http import GuardedBackend
from scanfleet.worker.browser import BrowseLimits, BrowserRuntime

if TYPE_CHECKING:  # the session reads SuiteRun's env
    from scanfleet.worker.checks.browser_session import BrowserSession


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CheckEnv:
    client: httpx.AsyncClient  # a guarded_client: every connection passes the SSRF guard
    backend: GuardedBackend  # for TCP and TLS steps, the same guard
    # For TLS steps: verifies the chain. Leave check_hostname off (tls_step.check_context() does): the
    # hostname is an assertion, so a mismatch still reports the certificate.
    ssl_context: ssl.SSLContext
    heartbeat: Callable[[uuid.UUID], Awaitable[HeartbeatState | None]]
    max_body_bytes: int = 1_000_000  # of each response, decoded; the rest is never read
    # A browser worker's runtime and page limits, for browser steps; None where none run (http workers).
    browser: BrowserRuntime | None = None
    browse_limits: BrowseLimits = field(default_factory=BrowseLimits)
    now: Callable[[], datetime] = _utc_now

    def __post_init__(self) -> None:
        # One client serves every organisation's runs: a cookie one run receives must never reach another.
        # Each run keeps a jar of its own (SuiteRun.cookies).
        self.client.cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


@dataclass
class SuiteRun:
    """The state the steps of one run share: variables set so far, the cookies received so far, and the browser
    session its browser steps share (opened by the first, closed with the run's `resources`)."""

    env: CheckEnv
    variables: dict[str, str]
    resources: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    browser: BrowserSession | None = None
