"""Group commit: a lone write goes at once; writes that arrive while the slot is taken go together, each caller
getting its own outcome; what a batch leaves out or fails for a reason of its own, each caller writes alone; an
error every write would meet reaches each caller; no caller is left waiting, however a batch ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextvars import ContextVar

import pytest

from scanfleet.group_commit import GroupCommit


class Away(Exception):
    """What every write would meet (the database away)."""


class Writes:
    """Writes of ints as their squares. A batch waits for `release` while it is cleared, and a write alone for
    `unblock` (as for a lock another transaction holds), so tests can hold them in flight."""

    def __init__(self, leave_out: frozenset[int] = frozenset(), batch_fails: BaseException | None = None) -> None:
        self.alone: list[int] = []
        self.batches: list[list[int]] = []
        self.release, self.unblock = asyncio.Event(), asyncio.Event()
        self.release.set()
        self.unblock.set()
        self.changed = asyncio.Condition()
        self.leave_out, self.batch_fails = leave_out, batch_fails
        self.answer_short = False

    async def note(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(5), self.changed:
            await self.changed.wait_for(done)

    async def one(self, item: int) -> int:
        self.alone.append(item)
        await self.note()
        await self.unblock.wait()
        if item < 0:
            raise ValueError(f"no square for {item}")
        return item * item

    async def many(self, items: Sequence[int]) -> list[int | None]:
        self.batches.append(list(items))
        await self.note()
        await self.release.wait()
        if self.batch_fails is not None:
            raise self.batch_fails
        squares = [None if item in self.leave_out else item * item for item in items]
        return squares[:-1] if self.answer_short else squares

    def group(self, in_flight: int = 1, max_batch: int = 10, stall_seconds: float = 60) -> GroupCommit[int, int]:
        return GroupCommit(
            self.many, self.one, shared=lambda exc: isinstance(exc, Away), in_flight=in_flight, max_batch=max_batch,
            stall_seconds=stall_seconds,
        )  # fmt: skip


async def held(writes: Writes, group: GroupCommit[int, int], count: int = 1) -> list[asyncio.Task[int]]:
    """`count` writes started, each in flight as a batch of one, holding its slot until writes.release is set."""
    writes.release.clear()
    tasks = [asyncio.create_task(group(1000 + n)) for n in range(count)]
    await writes.until(lambda: len(writes.batches) == count)
    return tasks


def started(group: GroupCommit[int, int], items: Sequence[int]) -> list[asyncio.Task[int]]:
    return [asyncio.create_task(group(item)) for item in items]


async def test_a_lone_write_goes_at_once_as_a_batch_of_one() -> None:
    writes = Writes()
    group = writes.group()
    assert await group(3) == 9
    assert await group(4) == 16
    assert (writes.batches, writes.alone) == ([[3], [4]], [])


async def test_writes_arriving_while_the_slots_are_taken_go_as_one_batch_each_with_its_own_outcome() -> None:
    writes = Writes()
    group = writes.group(in_flight=2)
    holding = await held(writes, group, 2)
    waiting = started(group, range(5))
    await asyncio.sleep(0)
    assert writes.batches == [[1000], [1001]]  # nothing more goes while both slots are taken
    writes.release.set()
    assert await asyncio.gather(*waiting) == [0, 1, 4, 9, 16]
    assert await asyncio.gather(*holding) == [1000 * 1000, 1001 * 1001]
    assert writes.batches == [[1000], [1001], [0, 1, 2, 3, 4]]


async def test_a_batch_takes_at_most_max_batch_and_the_rest_follow() -> None:
    writes = Writes()
    group = writes.group(max_batch=3)
    holding = await held(writes, group)
    waiting = started(group, range(7))
    writes.release.set()
    assert await asyncio.gather(*waiting) == [n * n for n in range(7)]
    await asyncio.gather(*holding)
    assert writes.batches == [[1000], [0, 1, 2], [3, 4, 5], [6]]


async def test_a_write_the_batch_left_out_its_caller_makes_alone_holding_up_no_batch() -> None:
    writes = Writes(leave_out=frozenset({2}))
    group = writes.group()
    holding = await held(writes, group)
    writes.unblock.clear()
    waiting = started(group, range(4))
    writes.release.set()
    await writes.until(lambda: writes.alone == [2])  # waiting alone, for as long as its lock is held elsewhere
    assert list(await asyncio.gather(group(5), group(6))) == [25, 36]  # the slot is free meanwhile
    assert not waiting[2].done()
    writes.unblock.set()
    assert await asyncio.gather(*waiting) == [0, 1, 4, 9]
    await asyncio.gather(*holding)
    assert writes.batches == [[1000], [0, 1, 2, 3], [5], [6]]


async def test_a_batch_failed_for_a_reason_of_its_own_has_each_caller_write_alone() -> None:
    writes = Writes(batch_fails=RuntimeError("one row the batch could not take"))
    group = writes.group()
    holding = await held(writes, group)
    waiting = started(group, (2, -1, 3))
    writes.release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert outcomes[0] == 4 and outcomes[2] == 9
    assert isinstance(outcomes[1], ValueError) and "no square for -1" in str(outcomes[1])
    (alone,) = await asyncio.gather(*holding, return_exceptions=True)
    assert isinstance(alone, RuntimeError)  # a batch of one: its error is its own, not worth a second try
    assert writes.batches == [[1000], [2, -1, 3]] and sorted(writes.alone) == [-1, 2, 3]


async def test_an_error_every_write_would_meet_reaches_each_caller_and_none_goes_alone() -> None:
    writes = Writes(batch_fails=Away("the database is away"))
    group = writes.group()
    holding = await held(writes, group)
    waiting = started(group, (2, 3))
    writes.release.set()
    for outcome in await asyncio.gather(*holding, *waiting, return_exceptions=True):
        assert isinstance(outcome, Away)
    assert writes.alone == []


async def test_a_caller_gone_before_its_batch_is_not_written() -> None:
    writes = Writes()
    group = writes.group()
    holding = await held(writes, group)
    kept, gone = started(group, (5, 6))
    await asyncio.sleep(0)
    gone.cancel()
    writes.release.set()
    assert await kept == 25
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.gather(*holding)
    assert writes.batches == [[1000], [5]]


async def test_cancelling_a_caller_writing_alone_cancels_its_write() -> None:
    writes = Writes(leave_out=frozenset({7}))
    group = writes.group()
    writes.unblock.clear()
    (caller,) = started(group, [7])
    await writes.until(lambda: writes.alone == [7])
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    writes.unblock.set()
    assert await group(8) == 64


async def test_a_stalled_batch_gives_up_its_slot_so_the_next_goes() -> None:
    writes = Writes()
    group = writes.group(stall_seconds=0.05)
    holding = await held(writes, group)
    (next_one,) = started(group, [4])
    await writes.until(lambda: writes.batches == [[1000], [4]])  # went while the first was still in flight
    assert not holding[0].done()
    writes.release.set()
    assert (await next_one, await holding[0]) == (16, 1000 * 1000)


async def test_a_batch_answering_the_wrong_number_of_outcomes_fails_its_callers_and_frees_its_slot() -> None:
    writes = Writes()
    group = writes.group()
    writes.answer_short = True
    with pytest.raises(RuntimeError, match="answered 0 outcomes"):
        await group(2)
    writes.answer_short = False
    assert await group(3) == 9


async def test_a_batch_cancelled_cancels_its_callers_and_frees_its_slot() -> None:
    writes = Writes(batch_fails=asyncio.CancelledError())
    group = writes.group()
    with pytest.raises(asyncio.CancelledError):
        await group(2)
    writes.batch_fails = None
    assert await group(3) == 9


async def test_a_batch_cancelled_with_callers_waiting_cancels_them_and_frees_its_slot() -> None:
    writes = Writes()
    group = writes.group()
    holding = await held(writes, group)
    waiting = started(group, (2, 3))
    await asyncio.sleep(0)
    writes.batch_fails = asyncio.CancelledError()
    writes.release.set()  # the lone batch cancelled in its caller's task, then the waiting one in its own
    for outcome in await asyncio.gather(*holding, *waiting, return_exceptions=True):
        assert isinstance(outcome, asyncio.CancelledError)
    assert writes.batches == [[1000], [2, 3]]
    writes.batch_fails = None
    assert await group(4) == 16


async def test_a_lone_write_runs_in_its_callers_context_and_a_batch_in_one_of_its_own() -> None:
    request_id: ContextVar[str] = ContextVar("request_id", default="none")
    seen: list[str] = []
    release = asyncio.Event()

    async def many(items: Sequence[int]) -> list[int | None]:
        seen.append(request_id.get())
        await release.wait()
        return list(items)

    async def one(item: int) -> int:
        return item

    async def request(name: str, item: int) -> int:
        request_id.set(name)
        return await group(item)

    group = GroupCommit(many, one, shared=lambda exc: False, in_flight=1, max_batch=10, stall_seconds=60)
    alone = asyncio.create_task(request("r-0", 0))
    together = [asyncio.create_task(request(f"r-{n}", n)) for n in (1, 2)]
    await asyncio.sleep(0)
    release.set()
    assert (await alone, await asyncio.gather(*together)) == (0, [1, 2])
    assert seen == ["r-0", "none"]  # the batch's logs are not those of whichever request started it
