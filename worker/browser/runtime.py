"""One Chromium per worker process, driven by Playwright; a fresh context per scan; a broken browser replaced.

A browser that crashed, stopped answering, or served its quota of pages is retired: scans already in it finish
(or fail, if it is dead), the next scan gets a new browser with a new profile. Its processes are found by the
profile directory on their command line and killed by pid, so a hung browser never outlives its retirement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Playwright, ViewportSize, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from scanfleet.http import GuardedBackend
from scanfleet.worker.browser.profile import SWITCHES, Profile, ProfileError, find_executable, make_profile
from scanfleet.worker.browser.proxy import GuardedProxy

log = logging.getLogger(__name__)

_CLOSE_SECONDS = 5.0
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


class BrowserError(Exception):
    """A scan the browser could not carry out; `code` is stable: browser_unavailable, browser_crashed,
    browser_hung."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(eq=False)  # one per launch: compared, and kept in sets, by identity
class _Browser:
    """One launched browser: its profile, Playwright handles, and the scans in it."""

    profile: Profile
    persistent: BrowserContext  # the profile's own context: used by no scan, proxied to a refuse-all proxy
    browser: Browser
    fallback: GuardedProxy
    user_agent: str
    pages: int = 0
    active: int = 0
    retired: bool = False
    broken: str | None = None  # why it was given up: "crashed", "hung"
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def pids(self) -> list[int]:
        """The browser's processes: those started with this profile, and their descendants."""
        marker = f"--user-data-dir={self.profile.user_data_dir}".encode()
        children: dict[int, list[int]] = {}
        roots = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
            pid = int(entry.name)
            children.setdefault(parent, []).append(pid)
            if marker in cmdline:
                roots.append(pid)
        found, stack = [], list(roots)
        while stack:
            pid = stack.pop()
            if pid not in found:
                found.append(pid)
                stack.extend(children.get(pid, []))
        return found


class BrowserRuntime:
    """Use as an async context manager; `context()` gives each scan its own browser context."""

    def __init__(
        self,
        guard: GuardedBackend,
        *,
        executable: Path | None = None,
        ca_file: Path | None = None,
        pages_per_browser: int = 100,
        launch_seconds: float = 30.0,
    ) -> None:
        self.guard = guard  # judges every connection of every scan, through each scan's own proxy
        self._executable = executable
        self._ca_file = ca_file
        self.pages_per_browser = pages_per_browser
        self._launch_seconds = launch_seconds
        self._playwright: Playwright | None = None
        self._current: _Browser | None = None
        self._launching = asyncio.Lock()
        self._all: set[_Browser] = set()
        self.launches = 0

    async def __aenter__(self) -> BrowserRuntime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        self._playwright = await async_playwright().start()

    async def close(self) -> None:
        for instance in list(self._all):
            await self._shut(instance)
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    def proxy(self, max_connections: int, max_bytes: int, connect_seconds: float) -> GuardedProxy:
        """A scan's own proxy (start it, or use it as an async context manager), through this runtime's guard."""
        return GuardedProxy(
            self.guard, max_connections=max_connections, max_bytes=max_bytes, connect_seconds=connect_seconds
        )

    @contextlib.asynccontextmanager
    async def context(self, proxy: GuardedProxy) -> AsyncIterator[tuple[BrowserContext, _Browser]]:
        """A fresh context whose every request goes through `proxy`. Raises BrowserError."""
        instance = await self._instance()
        instance.active += 1
        instance.pages += 1
        if instance.pages >= self.pages_per_browser:
            self._retire(instance)
        try:
            try:
                async with asyncio.timeout(_CLOSE_SECONDS * 2):
                    context = await instance.browser.new_context(
                        proxy={"server": proxy.url},
                        accept_downloads=False,
                        user_agent=instance.user_agent,
                        viewport=VIEWPORT,
                        service_workers="allow",
                    )
            except (PlaywrightError, TimeoutError) as exc:
                raise self.failure(instance, exc) from exc
            try:
                yield context, instance
            finally:
                await self._close_context(instance, context)
        finally:
            instance.active -= 1
            if instance.active == 0 and (instance.retired or instance.broken):
                await self._shut(instance)

    def failure(self, instance: _Browser, exc: BaseException) -> BrowserError:
        """What an exception out of the browser means for the scan, and for the browser: a timeout is a hang,
        anything else on a browser that went away a crash. Either way the browser is given up."""
        if isinstance(exc, BrowserError):
            return exc
        if isinstance(exc, TimeoutError | PlaywrightTimeoutError):
            self.give_up(instance, "hung")
            return BrowserError("browser_hung", "the browser stopped answering; it was replaced")
        self.give_up(instance, "crashed")
        return BrowserError("browser_crashed", f"the browser went away ({_first_line(exc)}); it was replaced")

    def give_up(self, instance: _Browser, why: str) -> None:
        """Kill a crashed or hung browser now (scans still in it fail); the next scan gets a new one."""
        if instance.broken is None:
            log.warning("browser %s after %s pages: replacing it", why, instance.pages)
            instance.broken = why
        self._retire(instance)
        _kill(instance.pids())

    def _retire(self, instance: _Browser) -> None:
        instance.retired = True
        if self._current is instance:
            self._current = None

    async def _instance(self) -> _Browser:
        async with self._launching:
            if self._current is None:
                self._current = await self._launch()
            return self._current

    async def _launch(self) -> _Browser:
        assert self._playwright is not None, "start the runtime first"
        try:
            executable = find_executable(self._executable)
            root = Path(tempfile.mkdtemp(prefix="scanfleet-browser-"))
            profile = make_profile(root, self._ca_file)
        except (ProfileError, OSError) as exc:
            raise BrowserError("browser_unavailable", str(exc)) from exc
        fallback = await GuardedProxy(None).start()
        try:
            async with asyncio.timeout(self._launch_seconds):
                persistent = await self._playwright.chromium.launch_persistent_context(
                    profile.user_data_dir,
                    executable_path=executable,
                    headless=True,
                    args=list(SWITCHES),
                    env={**os.environ, **profile.environment()},
                    proxy={"server": fallback.url},
                    accept_downloads=False,
                    handle_sigint=False,
                    handle_sigterm=False,
                    handle_sighup=False,
                )
        except (PlaywrightError, TimeoutError) as exc:
            await fallback.close()
            shutil.rmtree(root, ignore_errors=True)
            raise BrowserError("browser_unavailable", f"{executable} did not start: {_first_line(exc)}") from exc
        browser = persistent.browser
        assert browser is not None
        instance = _Browser(profile, persistent, browser, fallback, _user_agent(browser.version))
        browser.on("disconnected", lambda _: self._disconnected(instance))
        self._all.add(instance)
        self.launches += 1
        return instance

    def _disconnected(self, instance: _Browser) -> None:
        if not instance.closed.is_set() and instance.broken is None:
            instance.broken = "crashed"
            log.warning("browser went away after %s pages: replacing it", instance.pages)
        self._retire(instance)

    async def _close_context(self, instance: _Browser, context: BrowserContext) -> None:
        if instance.broken:
            return
        try:
            async with asyncio.timeout(_CLOSE_SECONDS):
                await context.close()
        except (PlaywrightError, TimeoutError):
            self.give_up(instance, "hung")

    async def _shut(self, instance: _Browser) -> None:
        if instance.closed.is_set():
            return
        instance.closed.set()
        self._all.discard(instance)
        self._retire(instance)
        pids = instance.pids()
        if not instance.broken:
            try:
                async with asyncio.timeout(_CLOSE_SECONDS):
                    await instance.persistent.close()
            except (PlaywrightError, TimeoutError):
                pass
        _kill(pids)  # whatever did not exit with the close (all of it, for a hung browser)
        await instance.fallback.close()
        shutil.rmtree(instance.profile.root, ignore_errors=True)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _user_agent(version: str) -> str:
    """Desktop Chrome's (reduced) user agent: headless Chromium announces itself as HeadlessChrome."""
    major = version.split(".")[0]
    return f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
