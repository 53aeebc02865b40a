"""C-level allocator settings for a server that holds many idle sockets.

Every read of an asyncio socket transport allocates a 256 KiB buffer and
shrinks it to what arrived. glibc serves blocks that large from ``mmap``
until one is freed, then raises its mmap threshold (up to 32 MiB) and carves
them out of the heap instead, where the shrunk buffers and the long-lived
objects of the sockets being opened interleave: freed memory stays resident
between them. Measured with 1,000 idle sockets (docs/benchmarks.md, "Idle
memory per connection"): 10.2 KiB of free-but-resident malloc memory per
socket with the dynamic threshold, 3.8 KiB with it fixed at 128 KiB; an
``mmap`` per socket read costs a few microseconds.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger("storyhub.heap")

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter numbers (malloc.h)."""
THRESHOLD_BYTES = 128 * 1024
"""glibc's initial value of both thresholds."""


def fix_mmap_threshold(size: int = THRESHOLD_BYTES) -> bool:
    """Keep blocks of ``size`` bytes and more out of the heap; False where unsupported.

    The trim threshold is reset too: start-up has usually raised it along
    with the mmap threshold (to twice it), and free memory at the top of the
    heap stays resident up to it.
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc-like: nothing to tune
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, size) == 1 and mallopt(M_TRIM_THRESHOLD, size) == 1
    if not done:
        log.info("malloc threshold not set", extra={"bytes": size})
    return done


def release_free_memory() -> bool:
    """Give free pages inside the C heap back to the OS (glibc ``malloc_trim``).

    Bursts of short-lived allocations (an upgrade's queries, SQLite's per-query
    threads in embedded mode) leave free holes between the long-lived objects
    of open sockets; they stay resident until trimmed: 4 to 5 KiB per idle socket
    measured. ``ctypes`` releases the GIL for the call, so run it in a thread.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return bool(trim(0))
