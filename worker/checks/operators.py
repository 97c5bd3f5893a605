"""The comparisons behind assertions, on plain values: JSON equality, ordering, text matching, and
whether a certificate's names cover a host."""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable
from typing import Any

from scanfleet.checks.assertions_model import is_number
from scanfleet.checks.expressions import compile_regex

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values: 1 == 1.0, but true is not 1 (as it is in Python)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if is_number(left) and is_number(right):
        return bool(left == right)
    return type(left) is type(right) and left == right


def compare(op: str, actual: Any, expected: Any) -> bool:
    """`actual op expected` for ==, !=, <, <=, >, >=; numbers with numbers, strings with strings, and
    anything else compares false (a string is not "less than" 3)."""
    if op in ("==", "!="):
        return json_equal(actual, expected) == (op == "==")
    comparable = (is_number(actual) and is_number(expected)) or (isinstance(actual, str) and isinstance(expected, str))
    return comparable and _ORDER[op](actual, expected)


def json_holds(op: str, actual: Any, expected: Any) -> bool:
    """A JSON assertion's operator on the value its path selected."""
    if op in _ORDER:
        return compare(op, actual, expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, list):
            return any(json_equal(item, expected) for item in actual)
        return isinstance(actual, dict) and expected in actual  # a key
    if op == "is_null":
        return actual is None
    if op == "is_empty":
        return isinstance(actual, str | list | dict) and not actual
    if op == "length":
        return isinstance(actual, str | list | dict) and len(actual) == expected
    raise ValueError(f"unknown JSON operator {op!r}")


def text_matches(op: str, actual: str, expected: str) -> bool:
    if op == "equals":
        return actual == expected
    if op == "contains":
        return expected in actual
    if op == "not_contains":
        return expected not in actual
    if op == "regex":
        return compile_regex(expected).search(actual) is not None
    raise ValueError(f"unknown text operator {op!r}")


def names_cover(names: list[str], hostname: str) -> bool:
    """RFC 6125: an IP must be listed as such; a DNS name exactly, or by a wildcard standing for its whole
    leftmost label (`*.example.com` covers a.example.com, not example.com or a.b.example.com)."""
    host = hostname.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        parent = host.partition(".")[2]
        wildcard = f"*.{parent}" if parent else None
        return any(name.rstrip(".").lower() in (host, wildcard) for name in names)
    return any(_ip(name) == address for name in names)


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip())
    except ValueError:
        return None
