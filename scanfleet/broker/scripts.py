"""The Lua scripts, loaded one way: registered once per client, run by EVALSHA, reloaded on NOSCRIPT.

Gate scripts share lua/lib.lua (their common KEYS, ARGV and helpers), prepended to each.
"""

from __future__ import annotations

import weakref
from functools import cache
from pathlib import Path

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_LUA = Path(__file__).parent / "lua"
GATE_SCRIPTS = frozenset(
    {"admit", "start", "renew", "finish", "cancel", "set_limits", "requeue", "defer", "undefer", "handback",
     "wake_waiting", "take"}
)  # fmt: skip
_registered: weakref.WeakKeyDictionary[Redis, dict[str, AsyncScript]] = weakref.WeakKeyDictionary()


@cache
def source(name: str) -> str:
    body = (_LUA / f"{name}.lua").read_text()
    return (_LUA / "lib.lua").read_text() + "\n" + body if name in GATE_SCRIPTS else body


def script(redis: Redis, name: str) -> AsyncScript:
    """The script `name` (lua/<name>.lua) on this client."""
    scripts = _registered.setdefault(redis, {})
    if name not in scripts:
        scripts[name] = redis.register_script(source(name))
    return scripts[name]
