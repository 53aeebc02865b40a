"""Per-message cost of the content filter: p50/p95/p99 over the corpus, as JSON.

    .venv/bin/python scripts/bench_safety.py [--rounds 5] [--level allAges]

Single-message calls of the offline pipeline (``SafetyPipeline.check_sync``, the
same code ``check`` runs inline), after a warm-up, each corpus text timed on its
own: ``ms`` is wall time (``time.perf_counter_ns``), ``cpuMs`` the thread's CPU
time, which leaves out time the process was preempted on a busy machine. The
budget is 2 ms at p99 (docs/safety.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from storyhub.safety.evaluation import load_corpus
from storyhub.safety.pipeline import SafetyPipeline

ROOT = Path(__file__).resolve().parent.parent


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="passes over the corpus")
    parser.add_argument("--level", default="allAges", choices=["allAges", "teen", "mature"])
    args = parser.parse_args()
    texts = [
        item.text
        for name in ("corpus.jsonl", "holdout.jsonl")
        for item in load_corpus(ROOT / "tests/safety" / name)
    ]
    pipeline = SafetyPipeline()
    pipeline.warm_up()
    for text in texts:  # warm every code path and regex cache once
        pipeline.check_sync(text, args.level)
    samples: list[float] = []
    cpu: list[float] = []
    for _ in range(args.rounds):
        for text in texts:
            start_cpu = time.thread_time_ns()
            start = time.perf_counter_ns()
            pipeline.check_sync(text, args.level)
            samples.append((time.perf_counter_ns() - start) / 1e6)
            cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
    samples.sort()
    cpu.sort()
    print(
        json.dumps(
            {
                "level": args.level,
                "messages": len(samples),
                "distinctTexts": len(texts),
                "ms": {
                    "p50": round(percentile(samples, 50), 4),
                    "p95": round(percentile(samples, 95), 4),
                    "p99": round(percentile(samples, 99), 4),
                    "max": round(samples[-1], 4),
                    "mean": round(statistics.fmean(samples), 4),
                },
                "cpuMs": {
                    "p50": round(percentile(cpu, 50), 4),
                    "p95": round(percentile(cpu, 95), 4),
                    "p99": round(percentile(cpu, 99), 4),
                    "max": round(cpu[-1], 4),
                },
                "loadAverage": [round(x, 2) for x in os.getloadavg()],
                "budgetP99Ms": 2.0,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
