"""Group commit: writes that arrive while earlier ones are in flight wait, then go together as one batch.

A write that finds a slot free and nothing waiting goes at once, as a batch of one. Under load each batch takes
what queued while the ones before it were in flight: batching adds no wait of its own, and a batch is as large as
the load makes it (up to `max_batch`). Each caller gets its own write's outcome: a batch that fails as a whole, or
leaves a write out, has those writes made one by one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


class GroupCommit(Generic[In, Out]):
    def __init__(
        self,
        many: Callable[[Sequence[In]], Awaitable[Sequence[Out | None]]],
        one: Callable[[In], Awaitable[Out]],
        *,
        in_flight: int,
        max_batch: int,
    ) -> None:
        """`many` writes a batch in one go, each item's outcome in its place: None for one it left out, which `one`
        then writes alone. At most `in_flight` batches run at once; writes alone do not count, so one that waits
        (for a lock, say) holds up no batch."""
        self._many, self._one = many, one
        self._free = in_flight
        self._max_batch = max_batch
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # held, so a running batch is never garbage-collected

    async def __call__(self, item: In) -> Out:
        if self._free and not self._waiting:  # a batch of one, in the caller's own task
            self._free -= 1
            try:
                (outcome,) = await self._batch([item])
            finally:
                self._release()
            return await self._one(item) if outcome is None else outcome
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        return await future

    async def _batch(self, items: Sequence[In]) -> Sequence[Out | None]:
        try:
            return await self._many(items)
        except Exception as exc:
            log.warning("a batch of %d writes failed (%s); writing each alone", len(items), type(exc).__name__)
            return [None] * len(items)

    def _release(self) -> None:
        self._free += 1
        self._waiting = [(item, future) for item, future in self._waiting if not future.done()]  # callers gone
        if self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            self._free -= 1
            self._spawn(self._write(batch))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        try:
            outcomes = await self._batch([item for item, _ in batch])
        except BaseException:  # cancelled: so are its callers, rather than left waiting
            for _, future in batch:
                future.cancel()
            raise
        finally:
            self._release()
        for (item, future), outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                self._spawn(self._alone(item, future))
            elif not future.done():  # its caller may have gone
                future.set_result(outcome)

    async def _alone(self, item: In, future: asyncio.Future[Out]) -> None:
        try:
            outcome = await self._one(item)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        except BaseException:
            future.cancel()
            raise
        if not future.done():
            future.set_result(outcome)
