"""The browser engine: a page run in Chromium, every request through the SSRF guard, evidence of what it did."""

from scanfleet.worker.browser.browse import BrowseLimits, browse
from scanfleet.worker.browser.runtime import BrowserError, BrowserRuntime
from scanfleet.worker.browser.setup import limits_for, runtime_for

__all__ = ["BrowseLimits", "BrowserError", "BrowserRuntime", "browse", "limits_for", "runtime_for"]
