"""Time and peak memory to build a 1,000-segment book with 100 illustrations, as JSON.

    .venv/bin/python scripts/bench_books.py [--segments 1000] [--illustrations 100] [--rounds 3]

Each measurement runs in a fresh child process (``--child FORMAT``) so that
one build's memory never counts against another's:

* wall time of the build call (``time.perf_counter``), best and median of
  ``--rounds`` children;
* peak RSS of the child (``resource.getrusage(...).ru_maxrss``) and the RSS
  it already had before the build (interpreter, imports and the manuscript
  with its images), so ``rss_build_mb`` is what the build itself added;
* peak Python allocations during the build (``tracemalloc``), in a separate
  child because tracing slows the build down.

Illustrations are 768x768 PNGs of 400 random discs (~45 KB each, the scale
of compressed drawings, not photographs); segments are 1-3 sentences.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw

from storyhub.books.build import build_book
from storyhub.books.manuscript import Credit, Illustration, Manuscript, Segment

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = [
    "The lantern flickered as the wind rose over the hill.",
    "Pip the fox tucked her tail around her paws and listened.",
    "Somewhere below, the river was singing an old song about the sea.",
    "“We should go back,” whispered the owl, but nobody moved.",
    "Stars fell like slow snow, and each one hummed a different note.",
]


def illustration(seed: int) -> Illustration:
    """A 768x768 PNG busy enough to compress like a drawing (~45 KB), not like a flat fill."""
    rng = random.Random(seed)
    image = Image.new("RGB", (768, 768), (20 + seed % 200, 60, 120))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y, r = rng.randrange(768), rng.randrange(768), rng.randrange(4, 60)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Illustration(data=out.getvalue(), mime="image/png", alt=f"Scene {seed}")


def manuscript(segments: int, illustrations: int) -> Manuscript:
    every = max(1, segments // illustrations) if illustrations else 0
    credits = ("Sam Rivera", "Brave Otter 17", "the narrator")
    return Manuscript(
        identifier="5b3f0d9e-8a51-4e0e-9f4c-3f1b0e2d9a77",
        title="The Fox and the Lantern",
        premise="A small fox sets out to find where the stars go in the morning.",
        language="en",
        age_rating="allAges",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        completed_at=datetime(2026, 11, 20, tzinfo=UTC),
        collaborators=(
            Credit(name="Sam Rivera", role="owner"),
            Credit(name="Brave Otter 17", role="author"),
            Credit(name="the narrator", role="narrator"),
        ),
        segments=tuple(
            Segment(
                seq=seq,
                text=" ".join(SENTENCES[(seq + k) % len(SENTENCES)] for k in range(1 + seq % 3)),
                credit=credits[seq % 3],
                illustration=illustration(seq) if every and seq % every == 0 else None,
            )
            for seq in range(1, segments + 1)
        ),
    )


def child(book_format: str, segments: int, illustrations: int, trace: bool) -> dict[str, float]:
    """One build in this process; returns its measurements."""
    source = manuscript(segments, illustrations)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    data = build_book(source, book_format, "A5")  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "bytes": len(data)}
    if trace:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result |= {"rss_before_mb": rss_before, "rss_peak_mb": rss_after}
    return result


def run_child(book_format: str, args: argparse.Namespace, trace: bool) -> dict[str, float]:
    command = [
        sys.executable, __file__, "--child", book_format,
        "--segments", str(args.segments), "--illustrations", str(args.illustrations),
    ] + (["--trace"] if trace else [])  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--segments", type=int, default=1000)
    parser.add_argument("--illustrations", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["epub", "pdf"])
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.segments, args.illustrations, args.trace)))
        return

    report: dict[str, object] = {
        "segments": args.segments,
        "illustrations": args.illustrations,
        "rounds": args.rounds,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
    }
    for book_format in ("epub", "pdf"):
        runs = [run_child(book_format, args, trace=False) for _ in range(args.rounds)]
        traced = run_child(book_format, args, trace=True)
        seconds = sorted(r["seconds"] for r in runs)
        report[book_format] = {
            "seconds_best": round(seconds[0], 3),
            "seconds_median": round(statistics.median(seconds), 3),
            "size_mb": round(runs[0]["bytes"] / 2**20, 2),
            "rss_before_build_mb": round(max(r["rss_before_mb"] for r in runs), 1),
            "rss_peak_mb": round(max(r["rss_peak_mb"] for r in runs), 1),
            "rss_build_mb": round(max(r["rss_peak_mb"] - r["rss_before_mb"] for r in runs), 1),
            "tracemalloc_peak_mb": round(traced["tracemalloc_peak_mb"], 1),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
