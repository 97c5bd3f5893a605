"""Group commit: a lone write goes at once; writes that arrive while the slots are taken go together, each caller
getting its own outcome; what a batch leaves out or fails, each write makes alone, holding up no batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from scanfleet.group_commit import GroupCommit


class Writes:
    """Writes of ints as their squares; a batch waits for `release` while it is cleared, so tests can hold slots."""

    def __init__(self, leave_out: frozenset[int] = frozenset(), fail_batch: bool = False) -> None:
        self.alone: list[int] = []
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.unblock = asyncio.Event()  # what a write alone waits for, as for a lock another transaction holds
        self.unblock.set()
        self.changed = asyncio.Condition()
        self.leave_out, self.fail_batch = leave_out, fail_batch

    async def one(self, item: int) -> int:
        self.alone.append(item)
        await self.note()
        await self.unblock.wait()
        if item < 0:
            raise ValueError(f"no square for {item}")
        return item * item

    async def note(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(5), self.changed:
            await self.changed.wait_for(done)

    async def many(self, items: Sequence[int]) -> list[int | None]:
        self.batches.append(list(items))
        await self.note()
        await self.release.wait()
        if self.fail_batch:
            raise RuntimeError("the batch as a whole failed")
        return [None if item in self.leave_out else item * item for item in items]


async def held_slots(writes: Writes, group: GroupCommit[int, int], count: int) -> list[asyncio.Task[int]]:
    """`count` writes started, each in flight as a batch of one, holding its slot until writes.release is set."""
    writes.release.clear()
    tasks = [asyncio.create_task(group(1000 + n)) for n in range(count)]
    await writes.until(lambda: len(writes.batches) == count)
    return tasks


async def test_a_lone_write_goes_at_once_as_a_batch_of_one() -> None:
    writes = Writes()
    group = GroupCommit(writes.many, writes.one, in_flight=2, max_batch=10)
    assert await group(3) == 9
    assert await group(4) == 16
    assert (writes.batches, writes.alone) == ([[3], [4]], [])


async def test_writes_arriving_while_the_slots_are_taken_go_as_one_batch_each_with_its_own_outcome() -> None:
    writes = Writes()
    group = GroupCommit(writes.many, writes.one, in_flight=2, max_batch=10)
    holding = await held_slots(writes, group, 2)
    waiting = [asyncio.create_task(group(n)) for n in range(5)]
    await asyncio.sleep(0)
    assert writes.batches == [[1000], [1001]]  # nothing more goes while both slots are taken
    writes.release.set()
    assert await asyncio.gather(*waiting) == [0, 1, 4, 9, 16]
    assert await asyncio.gather(*holding) == [1000 * 1000, 1001 * 1001]
    assert writes.batches == [[1000], [1001], [0, 1, 2, 3, 4]]


async def test_a_batch_takes_at_most_max_batch_and_the_rest_follow() -> None:
    writes = Writes()
    group = GroupCommit(writes.many, writes.one, in_flight=1, max_batch=3)
    holding = await held_slots(writes, group, 1)
    waiting = [asyncio.create_task(group(n)) for n in range(7)]
    writes.release.set()
    assert await asyncio.gather(*waiting) == [n * n for n in range(7)]
    await asyncio.gather(*holding)
    assert writes.batches == [[1000], [0, 1, 2], [3, 4, 5], [6]]


async def test_a_write_the_batch_left_out_is_made_alone_holding_up_no_batch() -> None:
    writes = Writes(leave_out=frozenset({2, 7}))
    group = GroupCommit(writes.many, writes.one, in_flight=1, max_batch=10)
    holding = await held_slots(writes, group, 1)
    waiting = [asyncio.create_task(group(n)) for n in range(4)]
    writes.release.set()
    assert await asyncio.gather(*waiting) == [0, 1, 4, 9]
    await asyncio.gather(*holding)
    assert writes.batches == [[1000], [0, 1, 2, 3]] and writes.alone == [2]
    writes.unblock.clear()
    stuck = asyncio.create_task(group(7))  # a lone write left out too, now waiting alone
    await writes.until(lambda: writes.alone == [2, 7])
    assert list(await asyncio.gather(group(5), group(6))) == [25, 36]  # the slot is free meanwhile
    assert not stuck.done()
    writes.unblock.set()
    assert await stuck == 49


async def test_a_failed_batch_has_each_write_made_alone_to_its_own_outcome() -> None:
    writes = Writes(fail_batch=True)
    group = GroupCommit(writes.many, writes.one, in_flight=1, max_batch=10)
    holding = await held_slots(writes, group, 1)
    waiting = [asyncio.create_task(group(n)) for n in (2, -1, 3)]
    writes.release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert outcomes[0] == 4 and outcomes[2] == 9
    assert isinstance(outcomes[1], ValueError) and "no square for -1" in str(outcomes[1])
    await asyncio.gather(*holding)
    assert writes.batches == [[1000], [2, -1, 3]] and sorted(writes.alone) == [-1, 2, 3, 1000]


async def test_a_caller_gone_before_its_batch_is_not_written() -> None:
    writes = Writes()
    group = GroupCommit(writes.many, writes.one, in_flight=1, max_batch=10)
    holding = await held_slots(writes, group, 1)
    kept, gone = asyncio.create_task(group(5)), asyncio.create_task(group(6))
    await asyncio.sleep(0)
    gone.cancel()
    writes.release.set()
    assert await kept == 25
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.gather(*holding)
    assert writes.batches == [[1000], [5]]
