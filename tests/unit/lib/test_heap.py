"""The heap keeper freezes survivors and sweeps frozen cyclic garbage."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from storyhub.lib.heap import HeapPolicy, freeze_survivors, heap_lifespan, sweep


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_frozen_cycles_live_until_a_sweep() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    freeze_survivors()
    del a, b
    gc.collect()
    assert alive() is not None  # frozen: full passes skip it
    assert sweep() >= 0
    assert alive() is None
    assert gc.get_freeze_count() > 0  # frozen again after the sweep


async def test_the_lifespan_keeps_freezing_and_stops_cleanly() -> None:
    # No sweep inside the test: a sweep collects (and so unfreezes) other garbage.
    async with heap_lifespan(HeapPolicy(freeze_seconds=0.01, sweep_seconds=3600))(None):
        frozen_at_start = gc.get_freeze_count()
        assert frozen_at_start > 0
        survivors = [Node() for _ in range(500)]
        deadline = asyncio.get_running_loop().time() + 10
        while gc.get_freeze_count() < frozen_at_start + len(survivors):
            assert asyncio.get_running_loop().time() < deadline, "survivors never frozen"
            await asyncio.sleep(0.01)
    assert gc.get_freeze_count() == 0


async def test_a_full_collection_is_followed_by_a_freeze() -> None:
    # freeze_seconds far away: only the full collection can freeze the survivors.
    async with heap_lifespan(HeapPolicy(freeze_seconds=3600, sweep_seconds=7200))(None):
        gc.unfreeze()
        survivors = [Node() for _ in range(500)]
        assert gc.get_freeze_count() == 0
        gc.collect()
        await asyncio.sleep(0)  # the freeze runs on the loop right after
        assert gc.get_freeze_count() >= len(survivors)
    assert not [cb for cb in gc.callbacks if "freeze_after" in getattr(cb, "__qualname__", "")]


async def test_the_young_threshold_holds_while_the_app_runs() -> None:
    before = gc.get_threshold()
    async with heap_lifespan(HeapPolicy(freeze_seconds=0, young_threshold=12_345))(None):
        assert gc.get_threshold() == (12_345, *before[1:])
    assert gc.get_threshold() == before
