"""What a run needs from its host process, and what the steps of one run share."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from scanfleet.checks import HeartbeatState
from scanfleet.http import GuardedBackend


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
    now: Callable[[], datetime] = _utc_now

    def __post_init__(self) -> None:
        # One client serves every organisation's runs: a cookie one run receives must never reach another.
        # Each run keeps a jar of its own (SuiteRun.cookies).
        self.client.cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


@dataclass
class SuiteRun:
    """The state the steps of one run share: variables set so far and the cookies received so far."""

    env: CheckEnv
    variables: dict[str, str]
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
