"""What PostgreSQL can store: text without the NUL character (text and jsonb refuse it) and without lone UTF-16
surrogates (JSON's "\\ud800" escapes, which no UTF-8 can hold), and JSON numbers that are finite (jsonb has no
Infinity or NaN, which Python's json reads from `1e400` or `NaN`).

Two uses, one rule: what a user sends is refused (`text_problem`, `json_problems`: a 422 naming the rule); what a
target returns is data, made storable (`storable`: each such character becomes U+FFFD, the replacement character;
`storable_json`, for JSON documents, also writes numbers that are not finite as their names, in strings).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterator
from typing import Any, TypeVar

NUL_RULE = "nul_character"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
NUL_FREE_PATTERN = r"^[^\x00]*$"  # the same rule, for JSON Schema
SURROGATE_RULE = "text_not_unicode"
SURROGATE_MESSAGE = "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff): it is not Unicode text"
NOT_FINITE_RULE = "number_not_finite"
NOT_FINITE_MESSAGE = "must be a finite number"
REPLACEMENT = "\ufffd"

Path = tuple[str | int, ...]
T = TypeVar("T")
_SURROGATES = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SUSPECT = re.compile(r"\\x00|\\ud[89a-f]")  # in a repr; a backslash in the text itself can only add false alarms
# JSON text keeps every character but the control ones as it is (ensure_ascii=False), so a lone surrogate is one
# character to replace, and U+0000 the escape \u0000 after an odd run of backslashes (an even run is escaped
# backslashes, then text).
_NUL_ESCAPE = re.compile(r"(?<!\\)(\\++)u0000")
# Python's json writes NaN and the infinities as bare words, which no JSON reader (jsonb included) takes. Possessive,
# so a long string is matched in linear time and constant memory.
_JSON_STRING_OR_NOT_FINITE = re.compile(r'"(?:[^"\\]++|\\.)*+"|NaN|-?Infinity')
_FINITE_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def text_problem(text: str) -> tuple[str, str] | None:
    """(rule, message) when `text` could not be stored, else None."""
    if "\x00" in text:
        return NUL_RULE, NUL_MESSAGE
    if _SURROGATES.search(text):
        return SURROGATE_RULE, SURROGATE_MESSAGE
    return None


def json_problems(value: Any, path: Path = ()) -> Iterator[tuple[Path, str, str]]:
    """(where, rule, message) for every string, key or number in a JSON document that could not be stored."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            yield path, *problem
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, NOT_FINITE_RULE, NOT_FINITE_MESSAGE
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key) if isinstance(key, str) else None
            if problem is not None:
                yield (*path, key), problem[0], f"a key {problem[1]}"
            yield from json_problems(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, (*path, index))


def storable(value: T) -> T:
    """`value` with every U+0000 and lone surrogate in it replaced by U+FFFD."""
    return _clean(value, quick=True)  # type: ignore[no-any-return]


def storable_json(value: Any) -> bytes:
    """`value` made storable, as the compact JSON text PostgreSQL's jsonb takes, with numbers that are not finite as
    the strings "NaN", "Infinity" and "-Infinity". What needs replacing is found and replaced in the text, which has
    to be made anyway: no walk through the value, however deep or long, and each pass linear in the text."""
    try:
        encoded = _FINITE_JSON.encode(value)
    except ValueError:  # a number that is not finite
        encoded = _JSON_STRING_OR_NOT_FINITE.sub(_quoted, _JSON.encode(value))
    if "\\u0000" in encoded:
        encoded = _NUL_ESCAPE.sub(_storable_nul, encoded)
    try:
        return encoded.encode()
    except UnicodeEncodeError:  # a lone surrogate, which UTF-8 cannot hold
        return _SURROGATES.sub(REPLACEMENT, encoded).encode()


def _quoted(match: re.Match[str]) -> str:
    token = match.group()
    return token if token.startswith('"') else f'"{token}"'


def _storable_nul(match: re.Match[str]) -> str:
    backslashes = match.group(1)
    return f"{backslashes[:-1]}{REPLACEMENT}" if len(backslashes) % 2 else match.group()


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


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's fields (none for other types), asked once per type."""
    if kind not in _FIELDS:
        _FIELDS[kind] = (
            tuple(field.name for field in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else ()
        )
    return _FIELDS[kind]
