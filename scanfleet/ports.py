"""Listening on a configured port, or on a free one when another process on this machine has it."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TypeVar

Server = TypeVar("Server")


def listen_on(port: int, start: Callable[[int], Server]) -> tuple[Server, bool]:
    """`start(port)`, or `start(0)` (a free port, chosen by the kernel) if that port is in use: the server, and
    whether it had to move."""
    try:
        return start(port), False
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
    return start(0), True
