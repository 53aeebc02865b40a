"""glibc allocator settings: big blocks stay out of the heap; free pages go back."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from storyhub.lib.malloc import release_free_memory

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="mallopt and malloc_trim are glibc's"
)


CHECK = """
import ctypes
from storyhub.lib.malloc import THRESHOLD_BYTES, fix_mmap_threshold

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Mallinfo2
# Freeing an mmapped block makes glibc raise its threshold above that size...
junk = bytearray(4 * THRESHOLD_BYTES)
del junk
if FIX:
    assert fix_mmap_threshold() is True
before = mallinfo2().hblks
kept = [bytearray(2 * THRESHOLD_BYTES) for _ in range(4)]
# ...so without the fixed threshold these come from the heap.
print(mallinfo2().hblks - before)
"""


@pytest.mark.parametrize("fix", [True, False])
def test_blocks_above_the_threshold_are_mmapped_even_after_glibc_raised_it(fix: bool) -> None:
    # A fresh interpreter: glibc's thresholds are process-wide and tests share one.
    out = subprocess.run(
        [sys.executable, "-c", f"FIX = {fix}\n{CHECK}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert (int(out) >= 4) is fix


def test_free_memory_can_be_released() -> None:
    assert release_free_memory() in (True, False)  # 1 when pages were returned
    junk = [bytearray(1000) for _ in range(5000)]
    del junk[::2]
    junk.clear()
    assert release_free_memory() is True
