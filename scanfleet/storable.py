"""Values PostgreSQL can store, whatever a target sent.

PostgreSQL's text and JSONB refuse U+0000, and no UTF-8 can hold a lone surrogate (what JSON's "\\ud800"
decodes to), yet both arrive in what targets return: a binary body, a JSON string holding "\\u0000". storable()
replaces each with U+FFFD, the replacement character, throughout a value: strings, dict keys and values, list
and tuple items, dataclass fields. What needs no change is returned as it is (the same object), so clean values
cost a scan of their strings and no copies.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

T = TypeVar("T")


def storable(value: T) -> T:
    """`value` with every U+0000 and lone surrogate in it replaced by U+FFFD."""
    return _clean(value)  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        items = [(_clean(key), _clean(item)) for key, item in value.items()]
        same = all(k is key and v is item for (k, v), (key, item) in zip(items, value.items(), strict=True))
        return value if same else dict(items)
    if isinstance(value, list | tuple):
        cleaned = [_clean(item) for item in value]
        if all(new is old for new, old in zip(cleaned, value, strict=True)):
            return value
        return cleaned if isinstance(value, list) else tuple(cleaned)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            old = getattr(value, field.name)
            new = _clean(old)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value
