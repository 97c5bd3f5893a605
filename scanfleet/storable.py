"""What PostgreSQL can store: text without the NUL character (text and jsonb refuse it) and JSON numbers that
are finite (jsonb has no Infinity or NaN, which Python's json reads from `1e400` or `NaN`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

NUL_RULE = "nul_character"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
NUL_FREE_PATTERN = r"^[^\x00]*$"  # the same rule, for JSON Schema
NOT_FINITE_RULE = "number_not_finite"
NOT_FINITE_MESSAGE = "must be a finite number"

Path = tuple[str | int, ...]


def json_problems(value: Any, path: Path = ()) -> Iterator[tuple[Path, str, str]]:
    """(where, rule, message) for every string, key or number in a JSON document that could not be stored."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path, NUL_RULE, NUL_MESSAGE
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, NOT_FINITE_RULE, NOT_FINITE_MESSAGE
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                yield (*path, key), NUL_RULE, f"a key {NUL_MESSAGE}"
            yield from json_problems(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, (*path, index))
