"""Keep the garbage collector's full passes short in a long-running server.

Everything imported and built at start-up (modules, classes, the safety
model's tables, routes) lives as long as the process, yet every full
collection walks it again. ``docs/benchmarks.md`` traced the session p99
latency to those pauses; moving the start-up heap to the permanent
generation takes it out of every later scan.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def freeze_startup_heap(_: Any) -> AsyncIterator[None]:
    """Last lifespan: collect once, then freeze what start-up left alive."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
