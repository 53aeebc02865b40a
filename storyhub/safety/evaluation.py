"""Precision and recall of the filter over a labelled corpus (``tests/safety/*.jsonl``).

Each corpus line is ``{"text", "rating", "expected", "categories", "pii"?}``:
``expected`` is ``allow``, ``redact`` or ``block``; ``pii`` lists substrings that
must not survive redaction. The figures:

* ``unsafeRecall``: of the texts that should be blocked, the share blocked;
* ``safePrecision``: of the innocent texts (``expected == allow``), the share
  allowed, i.e. the precision of the filter on safe text;
* ``piiRecall``: of the texts with personal data, the share where every listed
  substring is gone (redacted, or the whole text blocked);
* ``categoryRecall``: per category, the share of texts labelled with it whose
  verdict names it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from storyhub.safety.levels import SafetyLevel
from storyhub.safety.pipeline import SafetyPipeline, Verdict


class CorpusItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One labelled text."""

    text: str
    rating: SafetyLevel
    expected: str
    categories: list[str]
    pii: list[str] = msgspec.field(default_factory=list)


def load_corpus(path: Path) -> list[CorpusItem]:
    """Parse a JSON-lines corpus."""
    decoder = msgspec.json.Decoder(CorpusItem)
    return [decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()]


def pii_removed(item: CorpusItem, verdict: Verdict) -> bool:
    """True when none of ``item.pii`` can be read in what would be stored."""
    if verdict.verdict == "block":
        return True
    if verdict.verdict == "allow" or verdict.redacted is None:
        return False
    return not any(secret in verdict.redacted for secret in item.pii)


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def evaluate(
    items: Iterable[CorpusItem], pipeline: SafetyPipeline
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Figures per rating, and every disagreement with the labels."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses: list[dict[str, Any]] = []
    for item in items:
        verdict = pipeline.check_sync(item.text, item.rating)
        c = counts[item.rating]
        c["total"] += 1
        c["exact"] += verdict.verdict == item.expected
        if item.expected == "block":
            c["unsafe"] += 1
            c["unsafeBlocked"] += verdict.verdict == "block"
        if item.expected == "allow":
            c["safe"] += 1
            c["safeAllowed"] += verdict.verdict == "allow"
        if item.pii:
            c["pii"] += 1
            c["piiRemoved"] += pii_removed(item, verdict)
        for category in item.categories:
            c[f"cat:{category}"] += 1
            c[f"catHit:{category}"] += category in verdict.categories
        if verdict.verdict != item.expected or (item.pii and not pii_removed(item, verdict)):
            misses.append(
                {
                    "text": item.text,
                    "rating": item.rating,
                    "expected": item.expected,
                    "got": verdict.verdict,
                    "categories": verdict.categories,
                    "redacted": verdict.redacted,
                }
            )
    report: dict[str, Any] = {}
    for rating, c in sorted(counts.items()):
        categories = sorted(k[4:] for k in c if k.startswith("cat:"))
        report[rating] = {
            "texts": c["total"],
            "verdictAccuracy": _ratio(c["exact"], c["total"]),
            "unsafeRecall": _ratio(c["unsafeBlocked"], c["unsafe"]),
            "unsafeTexts": c["unsafe"],
            "safePrecision": _ratio(c["safeAllowed"], c["safe"]),
            "safeTexts": c["safe"],
            "piiRecall": _ratio(c["piiRemoved"], c["pii"]),
            "piiTexts": c["pii"],
            "categoryRecall": {
                cat: _ratio(c[f"catHit:{cat}"], c[f"cat:{cat}"]) for cat in categories
            },
        }
    return report, misses


def iter_jsonl(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Rows as JSON lines (for printing disagreements)."""
    for row in rows:
        yield json.dumps(row, ensure_ascii=False)
