"""Reads from the page's top document in a JavaScript world of the platform's own (CDP `Page.createIsolatedWorld`):
the page shares its DOM with that world but not its globals or prototypes, so a page that overrides
`String.prototype.slice` or a getter cannot change what is read there, and every value is cut to its bound there,
before it crosses to the worker. Elements found by a Playwright selector (which runs in the page) are named to it by
an event of a name the page cannot guess, which the world's listener catches."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Locator, Page
from playwright.async_api import Error as PlaywrightError

_WORLD = "scanfleet"
# Waits for the element a Playwright selector found: Playwright dispatches an event of the mark's name on it, which
# this world's listener sees as the page's listeners do (composed: from within an open shadow root too).
_LISTEN = """(mark) => {
  delete globalThis[mark];
  const keep = (event) => { globalThis[mark] = event.composedPath()[0]; };
  window.addEventListener(mark, keep, {capture: true, once: true});
}"""
_TEXT = """(mark, limit, name) => {
  const element = globalThis[mark];
  delete globalThis[mark];
  if (!(element instanceof Element)) return [false, null];
  const value = name === null ? element.textContent : element.getAttribute(name);
  return [true, value === null ? null : String(value).slice(0, limit)];
}"""
_MARK_ALL = "(elements, mark) => { elements.forEach((element) => element.setAttribute(mark, '')); }"
_TITLE = "(limit) => document.title.slice(0, limit)"
# What a failed step leaves of the DOM: secret fields' value attributes blanked first (a page may mirror a field's
# value into it, as React does).
_DOM = """(mark, limit) => {
  const root = document.documentElement;
  if (!root) return "";
  for (const element of document.querySelectorAll(`[${mark}]`)) {
    element.removeAttribute(mark);
    element.removeAttribute("value");
  }
  return root.outerHTML.slice(0, limit);
}"""


class ElementGone(PlaywrightError):
    """The element the selector found was gone (or its mark refused) by the time it was read."""


@dataclass
class IsolatedReader:
    context: BrowserContext
    page: Page
    mark: str = field(default_factory=lambda: f"data-sf-{secrets.token_hex(8)}")
    _cdp: CDPSession | None = None
    _world: int | None = None

    async def text(self, locator: Locator, limit: int, attribute: str | None, timeout_ms: float) -> str | None:
        """The element's text (or the attribute's value; None: it has none), at most `limit` characters."""
        await self._call(_LISTEN, self.mark)
        await locator.dispatch_event(self.mark, {"bubbles": False, "composed": True}, timeout=timeout_ms)
        found = await self._call(_TEXT, self.mark, limit, attribute, fresh_world=False)
        if not (isinstance(found, list) and len(found) == 2 and found[0] is True):
            raise ElementGone("the element was gone before it could be read")
        return found[1] if isinstance(found[1], str) else None

    async def title(self, limit: int) -> str:
        found = await self._call(_TITLE, limit)
        return found if isinstance(found, str) else ""

    async def dom(self, secret_fields: list[Locator], limit: int) -> str:
        """The document's HTML, at most `limit` characters, the secret fields' value attributes blanked."""
        for locator in secret_fields:
            await locator.evaluate_all(_MARK_ALL, self.mark)
        found = await self._call(_DOM, self.mark, limit)
        return found if isinstance(found, str) else ""

    async def _call(self, function: str, *args: Any, fresh_world: bool = True) -> Any:
        expression = f"({function})(...{json.dumps(list(args))})"
        try:
            return await self._evaluate(expression, await self._world_id(fresh=False))
        except PlaywrightError:
            if not fresh_world:
                raise ElementGone("the page navigated before the element could be read") from None
            # The world went with the document it was made in (the page navigated): again, in the current one.
            return await self._evaluate(expression, await self._world_id(fresh=True))

    async def _evaluate(self, expression: str, world: int) -> Any:
        session = await self._opened()
        params = {"expression": expression, "contextId": world, "returnByValue": True}
        answer = await session.send("Runtime.evaluate", params)
        if "exceptionDetails" in answer:
            raise PlaywrightError("the page could not be read")
        return answer.get("result", {}).get("value")

    async def _world_id(self, fresh: bool) -> int:
        if self._world is None or fresh:
            session = await self._opened()
            tree = await session.send("Page.getFrameTree")
            created = await session.send(
                "Page.createIsolatedWorld", {"frameId": tree["frameTree"]["frame"]["id"], "worldName": _WORLD}
            )
            self._world = int(created["executionContextId"])
        return self._world

    async def _opened(self) -> CDPSession:
        if self._cdp is None:
            self._cdp = await self.context.new_cdp_session(self.page)
        return self._cdp
