"""The Lua scripts, loaded one way: registered once per client, run by EVALSHA, reloaded on NOSCRIPT; alone, or
many runs of one script in a pipeline.

Gate scripts share lua/lib.lua (their common KEYS, ARGV and helpers), prepended to each.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

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


async def run_many(redis: Redis, name: str, keys: Sequence[str], runs: Sequence[Sequence[Any]]) -> list[Any]:
    """The script `name` run once for each of `runs` (its ARGV), in one pipeline: one round trip, the runs one
    after another in Redis. Each answer in its place; an exception where that run failed. Runs a Redis that had
    forgotten the script (NOSCRIPT, after a restart) refused are run again once it is loaded. EVALSHA straight
    onto the pipeline: redis-py's own script calls in a pipeline cost a SCRIPT EXISTS each time."""
    registered = script(redis, name)
    answers: list[Any] = [None] * len(runs)
    pending = list(range(len(runs)))
    for attempt in range(2):
        async with redis.pipeline(transaction=False) as pipe:
            for run in pending:
                pipe.evalsha(registered.sha, len(keys), *keys, *runs[run])
            for run, answer in zip(pending, await pipe.execute(raise_on_error=False), strict=True):
                answers[run] = answer
        pending = [run for run in pending if isinstance(answers[run], NoScriptError)]
        if not pending or attempt:
            break
        await redis.script_load(registered.script)
    return answers
