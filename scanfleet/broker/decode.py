"""Redis answers bytes unless told otherwise; the broker's readers want text."""

from __future__ import annotations

from typing import Any


def text(value: Any) -> str:
    """A Redis reply as text; None as ''."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)
