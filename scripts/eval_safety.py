"""Precision and recall of the content filter over the labelled corpus, as JSON.

    .venv/bin/python scripts/eval_safety.py                      # main corpus
    .venv/bin/python scripts/eval_safety.py tests/safety/holdout.jsonl
    .venv/bin/python scripts/eval_safety.py --misses             # also list disagreements

Figures are per room rating; the targets for ``allAges`` rooms are unsafe recall
>= 0.95, safe precision >= 0.90 and PII recall >= 0.99 (see docs/safety.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from storyhub.safety.evaluation import evaluate, iter_jsonl, load_corpus
from storyhub.safety.pipeline import SafetyPipeline

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "corpus", nargs="*", type=Path, default=[ROOT / "tests/safety/corpus.jsonl"]
    )
    parser.add_argument("--misses", action="store_true", help="print disagreements to stderr")
    args = parser.parse_args()
    pipeline = SafetyPipeline()
    pipeline.warm_up()
    out = {}
    for path in args.corpus:
        report, misses = evaluate(load_corpus(path), pipeline)
        out[path.name] = report
        if args.misses:
            for line in iter_jsonl(misses):
                print(line, file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
