"""The browser engine built from Settings: one runtime per worker process, and the limits of each page."""

from __future__ import annotations

from scanfleet.config import Settings
from scanfleet.http import AddressPolicy, GuardedBackend
from scanfleet.worker.browser.browse import BrowseLimits
from scanfleet.worker.browser.runtime import BrowserRuntime


def runtime_for(settings: Settings) -> BrowserRuntime:
    """The same guard as the http engine's: SCANFLEET_FETCH_ALLOW_NETWORKS and SCANFLEET_FETCH_RESOLVE."""
    guard = GuardedBackend(AddressPolicy(tuple(settings.fetch_allow_networks)), settings.fetch_resolve)
    return BrowserRuntime(
        guard,
        executable=settings.browser_executable,
        ca_file=settings.fetch_ca_file,
        pages_per_browser=settings.browser_pages_per_browser,
    )


def limits_for(settings: Settings) -> BrowseLimits:
    return BrowseLimits(
        page_seconds=settings.browser_page_seconds,
        settle_seconds=settings.browser_settle_seconds,
        max_requests=settings.browser_max_requests,
        max_bytes=settings.browser_max_bytes,
        max_document_bytes=settings.fetch_max_bytes,
        connect_seconds=settings.fetch_connect_timeout_seconds,
        max_artifact_bytes=settings.artifact_max_bytes,
        saved_document_bytes=settings.artifact_document_max_bytes,
    )
