"""What one job costs the servers, step by step: Redis commands (those sent, and those Lua scripts run) and
PostgreSQL round trips, counted where redis-py and asyncpg talk to their servers.

Every command and statement is charged to the step running when it is sent: a step is a method labelled with
`Meter.label` (its calls and the tasks they start carry the step's name in a context variable). Only work done
in the context the meter was started in is counted, so other tests' background tasks never are.

- Redis: every command redis-py packs is one command (a pipeline's MULTI and EXEC included), every packed
  write one round trip. Commands a Lua script runs are read from MONITOR on a server of the test's own: they
  follow their EVALSHA there, and each EVALSHA is matched to the step that sent it (the nth call of a script
  with the nth MONITOR line of that script).
- PostgreSQL: a round trip is one statement sent and its answer awaited: a query, a BEGIN or COMMIT, a prepare
  (a statement a connection runs for the first time), and two for a COPY (its start, then its data).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import asyncpg.connection
import pytest
import redis.asyncio
import redis.asyncio.connection

STEP: ContextVar[str | None] = ContextVar("cost_step", default=None)
_METER: ContextVar[Meter | None] = ContextVar("cost_meter", default=None)
CONNECT = "connect"  # a new connection's handshake, charged to no step
START, END = "cost-window-start", "cost-window-end"  # what the meter ECHOes around the counted window


@dataclass
class Cost:
    redis_commands: int = 0
    redis_round_trips: int = 0
    redis_in_lua: int = 0
    pg_round_trips: int = 0

    def row(self) -> tuple[int, int, int, int]:
        return self.redis_commands, self.redis_round_trips, self.redis_in_lua, self.pg_round_trips


@dataclass
class Meter:
    monkeypatch: pytest.MonkeyPatch
    counting: bool = False
    costs: dict[str, Cost] = field(default_factory=lambda: defaultdict(Cost))
    evalshas: list[tuple[str, str]] = field(default_factory=list)  # (step, script sha), in the order sent
    statements: list[tuple[str, str]] = field(default_factory=list)  # (step, SQL), for reading a failure

    def _charge(self) -> Cost | None:
        step = STEP.get()
        if not self.counting or _METER.get() is not self or step is None or step == CONNECT:
            return None
        return self.costs[step]

    def label(self, owner: object, name: str, step: str) -> None:
        """Charge what `owner.name` (an async method or function) does to `step`, unless a step inside it is."""
        original: Callable[..., Awaitable[Any]] = getattr(owner, name)

        @functools.wraps(original)
        async def labelled(*args: Any, **kwargs: Any) -> Any:
            with self.step(step):
                return await original(*args, **kwargs)

        self.monkeypatch.setattr(owner, name, labelled)

    @contextlib.contextmanager
    def step(self, step: str) -> Iterator[None]:
        """Charge what the block does (and the tasks it starts) to `step`."""
        token = STEP.set(step)
        try:
            yield
        finally:
            STEP.reset(token)

    # -- the hooks -------------------------------------------------------------------------------------------

    def install(self) -> None:
        self._hook_redis()
        self._hook_postgres()
        self.label(redis.asyncio.connection.AbstractConnection, "on_connect", CONNECT)

    def _hook_redis(self) -> None:
        connection = redis.asyncio.connection.AbstractConnection
        pack, send = connection.pack_command, connection.send_packed_command
        meter = self

        def pack_command(self: Any, *args: Any) -> Any:
            if (cost := meter._charge()) is not None:
                cost.redis_commands += 1
                if str(args[0]).upper() == "EVALSHA":
                    meter.evalshas.append((STEP.get() or "", _text(args[1])))
            return pack(self, *args)

        async def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
            if (cost := meter._charge()) is not None:
                cost.redis_round_trips += 1
            await send(self, command, check_health)

        self.monkeypatch.setattr(connection, "pack_command", pack_command)
        self.monkeypatch.setattr(connection, "send_packed_command", send_packed_command)

    def _hook_postgres(self) -> None:
        pg = asyncpg.connection.Connection
        meter = self

        def counted(name: str, round_trips: int, when: Callable[[tuple[Any, ...]], bool] = lambda _: True) -> None:
            original = getattr(pg, name)

            @functools.wraps(original)
            async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
                if when(args) and (cost := meter._charge()) is not None:
                    cost.pg_round_trips += round_trips
                    meter.statements.append((STEP.get() or "", str(args[0]) if args else name))
                return await original(self, *args, **kwargs)

            meter.monkeypatch.setattr(pg, name, method)

        counted("execute", 1, when=lambda args: len(args) == 1)  # simple query; with arguments: _do_execute
        counted("_do_execute", 1)  # bind and execute a prepared statement (fetch*, execute with arguments)
        counted("copy_records_to_table", 2)
        counted("_copy_in", 2)
        counted("_copy_out", 2)
        get_statement = pg._get_statement  # type: ignore[attr-defined]  # private: asyncpg-stubs types the public API

        async def _get_statement(self: Any, query: str, timeout: Any, **kwargs: Any) -> Any:
            record_class = kwargs.get("record_class") or self._protocol.get_record_class()
            key = (query, record_class, kwargs.get("ignore_custom_codec", False))
            prepared = not (kwargs.get("use_cache", True) and self._stmt_cache.get(key) is not None)
            if prepared and (cost := meter._charge()) is not None:
                cost.pg_round_trips += 1
                meter.statements.append((STEP.get() or "", f"prepare: {query}"))
            return await get_statement(self, query, timeout, **kwargs)

        self.monkeypatch.setattr(pg, "_get_statement", _get_statement)

    # -- the counted window ----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def window(self, monitor: Monitor) -> AsyncIterator[None]:
        """Count what runs inside the block; afterwards, the Lua scripts' commands from MONITOR as well."""
        await monitor.mark(START)
        self.evalshas.clear()
        self.counting = True
        try:
            yield
        finally:
            self.counting = False
            await monitor.mark(END)
        scripts = await monitor.scripts_between(START, END)
        self._charge_scripts(scripts)

    def _charge_scripts(self, scripts: list[tuple[str, int]]) -> None:
        """Each EVALSHA this meter saw sent, matched in order per script with MONITOR's, gets its Lua commands."""
        seen: dict[str, list[int]] = defaultdict(list)
        for sha, inner in scripts:
            seen[sha].append(inner)
        for step, sha in self.evalshas:
            runs = seen.get(sha)
            assert runs, f"MONITOR saw no EVALSHA {sha} for step {step!r}"
            self.costs[step].redis_in_lua += runs.pop(0)

    def table(self, steps: list[str]) -> dict[str, tuple[int, int, int, int]]:
        """(Redis commands, Redis round trips, commands in Lua, PostgreSQL round trips) per step, and a total."""
        rows = {step: self.costs[step].row() if step in self.costs else (0, 0, 0, 0) for step in steps}
        unlisted = set(self.costs) - set(steps)
        assert not unlisted, f"work charged to steps not in the table: {sorted(unlisted)}"
        rows["total"] = tuple(map(sum, zip(*rows.values(), strict=True)))  # type: ignore[assignment]
        return rows


@contextlib.asynccontextmanager
async def metered(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Meter]:
    """A meter with its hooks installed, counting work done in this context (and tasks started from it)."""
    meter = Meter(monkeypatch)
    meter.install()
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


class Monitor:
    """MONITOR on a server of the test's own, from outside any meter: every command it runs, in order."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._client = redis.asyncio.Redis.from_url(url)
        self.lines: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Monitor:
        ready = asyncio.Event()

        async def listen() -> None:
            async with self._client.monitor() as monitor:
                ready.set()
                async for line in monitor.listen():
                    self.lines.append(line)

        self._task = asyncio.create_task(listen())
        await ready.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._client.aclose()

    async def mark(self, text: str) -> None:
        """An ECHO of `text` in the stream (sent from a client of its own), once MONITOR has shown it."""
        async with redis.asyncio.Redis.from_url(self._url) as marker:
            await marker.echo(text)
        deadline = asyncio.get_running_loop().time() + 10
        while not any(line["command"] == f"ECHO {text}" for line in self.lines):
            assert asyncio.get_running_loop().time() < deadline, f"MONITOR never showed ECHO {text}"
            await asyncio.sleep(0.01)

    async def scripts_between(self, start: str, end: str) -> list[tuple[str, int]]:
        """(sha, commands it ran) for each EVALSHA between the two marks: a script's commands follow it at once."""
        commands = [line["command"] for line in self.lines]
        first, last = commands.index(f"ECHO {start}"), commands.index(f"ECHO {end}")
        scripts: list[tuple[str, int]] = []
        for line in self.lines[first + 1 : last]:
            if line["client_type"] == "lua":
                sha, inner = scripts[-1]
                scripts[-1] = (sha, inner + 1)
            elif line["command"].upper().startswith("EVALSHA "):
                scripts.append((line["command"].split()[1], 0))
        return scripts


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
