"""Shared by the benchmarks: statistics, tables and the command-line pieces they all print and parse alike."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index (Σx)² / (n·Σx²): 1 when all are equal, 1/n when one gets everything."""
    squares = sum(x * x for x in values)
    return sum(values) ** 2 / (len(values) * squares) if squares else math.nan


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to fit: the first left-aligned, the others right-aligned."""
    cells = [list(map(str, header)), *[list(map(str, row)) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    lines = [line(row) for row in cells]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's parser, described by the first line of its module docstring."""
    return argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)


def comma_list(kind: Callable[[str], T]) -> Callable[[str], list[T]]:
    """An argparse `type` for "a,b,c": each part converted by `kind`."""

    def parse(text: str) -> list[T]:
        return [kind(part) for part in text.split(",")]

    parse.__name__ = f"comma-separated {getattr(kind, '__name__', 'value')}"  # argparse names it in its errors
    return parse
