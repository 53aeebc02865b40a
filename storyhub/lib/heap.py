"""Keep the garbage collector's full passes short in a long-running server.

Everything imported and built at start-up (modules, classes, the safety
model's tables, routes) lives as long as the process, yet every full
collection walks it again; so do the objects of every open WebSocket, which
live for minutes or hours. ``docs/benchmarks.md`` traced the session p99
latency to those full passes (79 ms with 1,000 sockets, 8 ms once they were
frozen).

So the heap is frozen (moved to the permanent generation, which collections
skip) at the end of start-up, then every ``freeze_seconds`` (what has survived
that long is long-lived), and right after any full collection the
interpreter starts on its own: that pass has just walked every object a burst
of new connections brought, and freezing the survivors at once keeps the next
full passes from walking them again (three passes of 60-120 ms within 30 s
after 1,000 sockets connected, before this). The price: cyclic garbage made of frozen
objects is not reclaimed while frozen, so every ``sweep_seconds`` one
unfreeze + full collection + freeze pays for all of it at once — one pause
per sweep instead of one every few seconds under load. Reference-counted
garbage (most of it) is freed at once as always.

Each round also hands free pages inside the C heap back to the OS
(:func:`storyhub.lib.malloc.release_free_memory`, in a thread): the holes a
burst of connections leaves between open sockets' objects (1 to 4 KiB per
idle socket measured, docs/benchmarks.md "Idle memory per connection").
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from storyhub.lib.malloc import release_free_memory

log = logging.getLogger("storyhub.heap")


@dataclass(frozen=True)
class HeapPolicy:
    freeze_seconds: float = 30.0
    """How often survivors are frozen; 0 freezes only at start-up."""
    sweep_seconds: float = 600.0
    """How often everything is unfrozen and fully collected once."""
    young_threshold: int | None = None
    """Allocations between young-generation passes (``gc.set_threshold``'s first
    value); ``None`` keeps the interpreter's. A server's requests allocate many
    short-lived containers, and CPython's 700 runs a pass every few messages."""


def freeze_survivors() -> None:
    """Collect the young generations, then freeze whatever is left."""
    gc.collect(1)
    gc.freeze()


def sweep() -> float:
    """Unfreeze, collect everything, freeze again; returns the pause in ms."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return (time.perf_counter() - started) * 1000


async def keep_heap_frozen(policy: HeapPolicy) -> None:
    """Freeze survivors every ``freeze_seconds``; sweep every ``sweep_seconds``."""
    last_sweep = time.monotonic()
    while True:
        await asyncio.sleep(policy.freeze_seconds)
        if time.monotonic() - last_sweep >= policy.sweep_seconds:
            last_sweep = time.monotonic()
            pause = sweep()
            log.info("heap swept", extra={"ms": round(pause, 1), "frozen": gc.get_freeze_count()})
        else:
            freeze_survivors()
        await asyncio.to_thread(release_free_memory)


def freeze_after_full_collections(
    loop: asyncio.AbstractEventLoop,
) -> Callable[[str, dict[str, Any]], None]:
    """A ``gc.callbacks`` entry that freezes the survivors of every full collection.

    The freeze runs on ``loop`` soon after, not inside the collector (the
    callback may fire in any thread, mid-allocation).
    """

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2 and not loop.is_closed():
            loop.call_soon_threadsafe(gc.freeze)

    return callback


def heap_lifespan(policy: HeapPolicy) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """The app's last lifespan: freeze the start-up heap, then keep freezing survivors."""

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        thresholds = gc.get_threshold()
        if policy.young_threshold is not None:
            gc.set_threshold(policy.young_threshold, *thresholds[1:])
        gc.collect()
        gc.freeze()
        keeper = None
        after_full = None
        if policy.freeze_seconds > 0:
            loop = asyncio.get_running_loop()
            keeper = loop.create_task(keep_heap_frozen(policy), name="storyhub-heap")
            after_full = freeze_after_full_collections(loop)
            gc.callbacks.append(after_full)
        try:
            yield
        finally:
            if after_full is not None:
                gc.callbacks.remove(after_full)
            if keeper is not None:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
            gc.unfreeze()
            gc.set_threshold(*thresholds)

    return lifespan
