"""Redis answers bytes unless told otherwise; the broker's readers want text."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


def text(value: Any) -> str:
    """A Redis reply as text; None as ''."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


async def reply(value: Awaitable[T] | T) -> T:
    """redis-py types each reply as awaitable-or-not, for its sync and async clients alike; ours await."""
    return await value if inspect.isawaitable(value) else value
