"""A screenshot bounded in size: a full page is cut at a maximum height (a page can be any length) and falls back
to the viewport alone when its PNG is still over the byte limit."""

from __future__ import annotations

from collections.abc import Sequence

from playwright.async_api import FloatRect, Locator, Page

MAX_FULL_PAGE_HEIGHT = 16_384  # CSS pixels of a full-page screenshot; a longer page is cut here
# The page's own measure of its length: a page that lies only gets a shorter picture of itself, the cut is ours.
_HEIGHT = "() => Math.max(document.documentElement?.scrollHeight ?? 0, document.body?.scrollHeight ?? 0)"


async def bounded_screenshot(
    page: Page, max_bytes: int, timeout_ms: float, *, full_page: bool, mask: Sequence[Locator] = ()
) -> bytes | None:
    """The PNG, or None when even the viewport's is over `max_bytes`. Playwright's errors are the caller's."""
    for whole in (True, False) if full_page else (False,):
        clip = await _clip(page) if whole else None
        shot = await page.screenshot(
            type="png", full_page=whole, clip=clip, mask=list(mask), animations="disabled", timeout=timeout_ms
        )
        if len(shot) <= max_bytes:
            return shot
    return None


async def _clip(page: Page) -> FloatRect | None:
    """The region to take of a page longer than the maximum; None takes all of a shorter one."""
    height = await page.main_frame.evaluate(_HEIGHT)
    if isinstance(height, int | float) and 0 < height <= MAX_FULL_PAGE_HEIGHT:
        return None
    width = page.viewport_size["width"] if page.viewport_size else 1280
    return FloatRect(x=0, y=0, width=width, height=MAX_FULL_PAGE_HEIGHT)
