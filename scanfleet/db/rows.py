"""Rows into dataclasses by the dataclass's own field names.

A rolling deploy runs a new migration beside old processes: a column it adds must not break them, so a row is
never spread into a constructor whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")
Row = asyncpg.Record | Mapping[str, Any]


def read(cls: type[T], row: Row | None, **converted: Any) -> T:
    """`cls` from the row's columns named like its fields; `converted` replaces some of them. The row is one a
    statement just read or returned: None here is a bug, not an absence."""
    assert row is not None, f"no row for {cls.__name__}"
    values = {field.name: row[field.name] for field in fields(cls) if field.init and field.name not in converted}  # type: ignore[arg-type]
    return cls(**values, **converted)


def names(cls: type[Any], table: str = "") -> str:
    """The columns to SELECT or RETURN for `cls`, optionally qualified by a table alias."""
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + field.name for field in fields(cls) if field.init)
