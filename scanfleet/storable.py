"""What PostgreSQL can store: text without the NUL character (text and jsonb refuse it) and without lone UTF-16
surrogates (JSON's "\\ud800" escapes, which are no UTF-8 at all), and JSON numbers that are finite (jsonb has no
Infinity or NaN, which Python's json reads from `1e400` or `NaN`)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

NUL_RULE = "nul_character"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
NUL_FREE_PATTERN = r"^[^\x00]*$"  # the same rule, for JSON Schema
SURROGATE_RULE = "text_not_unicode"
SURROGATE_MESSAGE = "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff): it is not Unicode text"
NOT_FINITE_RULE = "number_not_finite"
NOT_FINITE_MESSAGE = "must be a finite number"

Path = tuple[str | int, ...]
_SURROGATES = re.compile("[\ud800-\udfff]")


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
