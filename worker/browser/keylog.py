"""Key logging, the way Blacklight tests it: type canary values into a page's fields without submitting, then look
for them in what the page sends to third parties, raw or encoded or hashed."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote_plus

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page

MAX_FIELDS = 10  # typed per page: enough to find a logger, bounded in time
_FIELDS = (
    "input:not([type]), input[type=text], input[type=email], input[type=password], input[type=search], "
    "input[type=tel], input[type=url], textarea"
)


@dataclass(frozen=True)
class TypedField:
    frame_url: str
    selector: str  # how the field was named in the page: #id, [name=…] or its tag
    kind: str  # email, password or text
    value: str

    def encodings(self) -> dict[str, str]:
        """Every form the canary might travel in, by name."""
        raw = self.value
        data = raw.encode()
        forms = {
            "raw": raw,
            "url_encoded": quote(raw, safe=""),
            "form_encoded": quote_plus(raw),
            "base64": base64.b64encode(data).decode().rstrip("="),
            "base64url": base64.urlsafe_b64encode(data).decode().rstrip("="),
            "md5": hashlib.md5(data).hexdigest(),  # noqa: S324 - matching what trackers send, not securing anything
            "sha1": hashlib.sha1(data).hexdigest(),  # noqa: S324
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if raw.lower() != raw:
            forms["sha256_lowercase"] = hashlib.sha256(raw.lower().encode()).hexdigest()
        return forms


def find_canary(field: TypedField, text: str) -> list[str]:
    """The names of the encodings of `field`'s canary found in `text` (a URL or a body)."""
    decoded = unquote_plus(text)
    return [name for name, form in field.encodings().items() if form in text or form in decoded]


async def type_canaries(page: Page, per_key_seconds: float = 0.0) -> list[TypedField]:
    """Type a canary into each visible field of every frame (at most MAX_FIELDS), as keystrokes, then leave the
    last one (a blur, as a user moving on). Nothing is submitted."""
    token = secrets.token_hex(4)
    typed: list[TypedField] = []
    for frame in page.frames:
        for handle in await _fields(frame):
            if len(typed) >= MAX_FIELDS:
                break
            try:
                if not await handle.is_visible():
                    continue
                field = await _describe(frame, handle, token, len(typed))
                await handle.focus()
                await page.keyboard.type(field.value, delay=per_key_seconds * 1000)
            except PlaywrightError:
                continue  # the field went away or the frame navigated: typing elsewhere still counts
            typed.append(field)
    if typed:
        await page.keyboard.press("Tab")
    return typed


async def _fields(frame: Frame) -> list:  # type: ignore[type-arg]
    try:
        return await frame.query_selector_all(_FIELDS)
    except PlaywrightError:
        return []


async def _describe(frame: Frame, handle: object, token: str, index: int) -> TypedField:
    described = await frame.evaluate(
        """(el) => ({id: el.id, name: el.getAttribute('name'), type: (el.getAttribute('type') || '').toLowerCase(),
                     tag: el.tagName.toLowerCase(), autocomplete: el.getAttribute('autocomplete') || ''})""",
        handle,
    )
    selector = (
        f"#{described['id']}"
        if described["id"]
        else f"{described['tag']}[name={described['name']}]"
        if described["name"]
        else described["tag"]
    )
    hint = f"{described['name'] or ''} {described['id']} {described['autocomplete']}".lower()
    if described["type"] == "password":
        kind, value = "password", f"Sf{token}pw{index}"
    elif described["type"] == "email" or "mail" in hint:
        kind, value = "email", f"sf{token}c{index}@example.com"
    else:
        kind, value = "text", f"sfcanary{token}{index}"
    return TypedField(frame.url, selector, kind, value)
