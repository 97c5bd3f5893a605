"""The startup heap frozen: what lives on is out of the collector's walks, what starting left as garbage is gone."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from scanfleet import heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process goes on collecting as before


@pytest.mark.usefixtures("unfrozen")
def test_the_live_heap_is_frozen_and_the_garbage_of_starting_collected_first() -> None:
    kept = _Node()
    dropped = _Node()
    dropped_ref = weakref.ref(dropped)
    del dropped  # garbage, in a cycle

    frozen = heap.freeze()

    assert dropped_ref() is None  # collected, not frozen for good
    assert frozen > 0
    assert all(tracked is not kept for tracked in gc.get_objects())  # out of the collector's generations
