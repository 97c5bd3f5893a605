"""Group commit: writes that arrive while a batch is in flight wait, then go together as the next batch.

A write that finds a slot free and nothing waiting goes at once, as a batch of one in its caller's task. Under
load each batch takes what queued while the one before it was in flight: batching adds no wait of its own, and a
batch is as large as the load makes it (up to `max_batch`). A batch still in flight after `stall_seconds` gives its
slot up, so one slow batch (a stuck connection, or one waiting for a connection) holds up the next for that long at
most.

Each caller gets its own write's outcome. A write the batch left out, or every write of a batch of several that
failed for a reason of its own, its caller then makes alone, in its own task: cancelling the caller cancels that
write, and writes alone are no more than the callers waiting for them. An error every write would meet alone too
(`shared`: the database away) reaches each caller as it is.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


class _Alone:
    """The answer that sends a caller to make its write alone."""


ALONE = _Alone()


@dataclass
class _Batch(Generic[In, Out]):
    items: list[In]
    futures: list[asyncio.Future[Out | _Alone]]
    holds_slot: bool = True


class GroupCommit(Generic[In, Out]):
    def __init__(
        self,
        many: Callable[[Sequence[In]], Awaitable[Sequence[Out | None]]],
        one: Callable[[In], Awaitable[Out]],
        *,
        shared: Callable[[Exception], bool],
        in_flight: int,
        max_batch: int,
        stall_seconds: float,
    ) -> None:
        """`many` writes a batch in one go, each item's outcome in its place: None for one it left out, which `one`
        then writes alone. At most `in_flight` batches hold a slot at once."""
        self._many, self._one, self._shared = many, one, shared
        self._free = in_flight
        self._max_batch = max_batch
        self._stall_seconds = stall_seconds
        self._waiting: list[tuple[In, asyncio.Future[Out | _Alone]]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # held, so a running batch is never garbage-collected

    async def __call__(self, item: In) -> Out:
        future: asyncio.Future[Out | _Alone] = asyncio.get_running_loop().create_future()
        if self._free and not self._waiting:  # alone: its batch of one runs in the caller's own task
            batch = _Batch([item], [future])
            self._free -= 1
            try:
                await self._write(batch)
            finally:
                self._give_up_slot(batch)
        else:
            self._waiting.append((item, future))
            self._dispatch()
        outcome = await future
        return await self._one(item) if isinstance(outcome, _Alone) else outcome

    def _dispatch(self) -> None:
        while self._free:
            self._waiting = [(item, future) for item, future in self._waiting if not future.done()]  # callers gone
            if not self._waiting:
                return
            taken, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            batch = _Batch([item for item, _ in taken], [future for _, future in taken])
            self._free -= 1
            # A context of its own: not that of whichever request's write happened to start it.
            task = asyncio.get_running_loop().create_task(self._write(batch), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(partial(self._ended, batch))

    def _give_up_slot(self, batch: _Batch[In, Out]) -> None:
        if batch.holds_slot:
            batch.holds_slot = False
            self._free += 1
            self._dispatch()

    async def _write(self, batch: _Batch[In, Out]) -> None:
        stall = asyncio.get_running_loop().call_later(self._stall_seconds, self._give_up_slot, batch)
        outcomes: Sequence[Out | _Alone | None]
        try:
            outcomes = await self._many(batch.items)
        except Exception as exc:
            if self._shared(exc) or len(batch.items) == 1:  # alone, it would fail alone again
                raise
            log.warning("a batch of %d writes failed (%r); its writes go alone", len(batch.items), exc)
            outcomes = [ALONE] * len(batch.items)
        finally:
            stall.cancel()
        if len(outcomes) != len(batch.items):
            raise RuntimeError(f"a batch of {len(batch.items)} writes answered {len(outcomes)} outcomes")
        for future, outcome in zip(batch.futures, outcomes, strict=True):
            if not future.done():  # its caller may have gone
                future.set_result(ALONE if outcome is None else outcome)

    def _ended(self, batch: _Batch[In, Out], task: asyncio.Task[None]) -> None:
        """However the batch ended, its slot comes back and no caller is left waiting."""
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        for future in batch.futures:
            if future.done():
                continue
            if error is None:
                future.cancel()
            else:
                future.set_exception(error)
        self._give_up_slot(batch)
