"""Same manuscript, same bytes: in one process, across processes and hash seeds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from storyhub.books.build import build_epub, build_pdf
from storyhub.books.manuscript import Credit, Manuscript, Segment
from tests.integration.books.support import COMPLETED, CREATED, png

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
from tests.integration.books.test_determinism import sample, digests
print(" ".join(digests(sample())))
"""


def sample() -> Manuscript:
    """A book with every feature that could vary: RTL, illustrations, cover, outline."""
    texts = ["Once upon a time (1).", "שלום עולם, זה סיפור (2).", "مرحبا بالعالم (3)."]
    return Manuscript(
        identifier="0b9d8a4e-7a77-4b5c-9b0e-1c1d2e3f4a5b",
        title="Determinism",
        premise="Two builds, one book.",
        language="he",
        age_rating="teen",
        created_at=CREATED,
        completed_at=COMPLETED,
        collaborators=(Credit(name="Sam", role="owner"), Credit(name="כוכב", role="author")),
        segments=tuple(
            Segment(
                seq=seq,
                text=texts[seq % 3],
                credit="Sam" if seq % 2 else "כוכב",
                illustration=png(seed=seq) if seq % 7 == 0 else None,
            )
            for seq in range(1, 60)
        ),
    )


def digests(manuscript: Manuscript) -> list[str]:
    return [
        hashlib.sha256(build_epub(manuscript)).hexdigest(),
        hashlib.sha256(build_pdf(manuscript, "A5")).hexdigest(),
        hashlib.sha256(build_pdf(manuscript, "letter")).hexdigest(),
    ]


def test_two_processes_with_different_hash_seeds_build_identical_books() -> None:
    here = digests(sample())
    assert here == digests(sample())
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        child = subprocess.run(
            [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert child.returncode == 0, child.stderr
        assert child.stdout.split() == here
