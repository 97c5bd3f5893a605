"""Values PostgreSQL can store, whatever a target sent.

PostgreSQL's text and JSONB refuse U+0000, and no UTF-8 can hold a lone surrogate (what JSON's "\\ud800"
decodes to), yet both arrive in what targets return: a binary body, a JSON string holding "\\u0000". storable()
replaces each with U+FFFD, the replacement character, throughout a value: strings, dict keys and values, list
and tuple items, dataclass fields. What needs no change is returned as it is (the same object). It is on the
write path of every result, so a clean dict is recognised by its repr, built in C, which shows each U+0000 as
\\x00 and each surrogate as \\udXXX, rather than by a walk in Python.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, TypeVar

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SUSPECT = re.compile(r"\\x00|\\ud[89a-f]")  # in a repr; a backslash in the text itself can only add false alarms

T = TypeVar("T")


def storable(value: T) -> T:
    """`value` with every U+0000 and lone surrogate in it replaced by U+FFFD."""
    return _clean(value, quick=True)  # type: ignore[no-any-return]


def _clean(value: Any, quick: bool = False) -> Any:
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value
        return _UNSTORABLE.sub(REPLACEMENT, value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        if quick and not _SUSPECT.search(repr(value)):
            return value
        items = [(_clean(key), _clean(item)) for key, item in value.items()]
        same = all(k is key and v is item for (k, v), (key, item) in zip(items, value.items(), strict=True))
        return value if same else dict(items)
    if isinstance(value, list | tuple):
        cleaned = [_clean(item, quick) for item in value]
        if all(new is old for new, old in zip(cleaned, value, strict=True)):
            return value
        return cleaned if isinstance(value, list) else tuple(cleaned)
    names = _field_names(type(value))
    if names:
        changes = {}
        for name in names:
            old = getattr(value, name)
            new = _clean(old, quick)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's fields (none for other types), asked once per type."""
    return tuple(field.name for field in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else ()
