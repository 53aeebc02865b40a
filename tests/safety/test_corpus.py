"""The filter meets its targets on the labelled corpus (issue 4, "Done means").

Targets for an ``allAges`` room: unsafe recall >= 95 % at >= 90 % precision on
safe text (the share of innocent texts allowed), and PII recall >= 99 %. The
held-out set (``holdout.jsonl``) is not asserted on: its figures are reported
in docs/safety.md by ``scripts/eval_safety.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storyhub.safety.evaluation import CorpusItem, evaluate, load_corpus
from storyhub.safety.pipeline import default_pipeline

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def corpus() -> list[CorpusItem]:
    return load_corpus(HERE / "corpus.jsonl")


@pytest.fixture(scope="module")
def report(corpus: list[CorpusItem]) -> dict[str, Any]:
    figures, _ = evaluate(corpus, default_pipeline())
    return figures


class TestCorpusShape:
    """The corpus is big and varied enough to mean something."""

    def test_sizes(self, corpus: list[CorpusItem]) -> None:
        assert len(corpus) >= 400
        assert sum(item.expected == "allow" for item in corpus) >= 150
        assert len(load_corpus(HERE / "holdout.jsonl")) >= 100

    def test_every_category_and_rating_is_represented(self, corpus: list[CorpusItem]) -> None:
        labelled = {c for item in corpus for c in item.categories}
        assert labelled >= {
            "profanity",
            "sexual",
            "violence",
            "selfHarm",
            "hate",
            "drugs",
            "grooming",
            "personalData",
        }
        assert {item.rating for item in corpus} == {"allAges", "teen", "mature"}

    def test_labels_are_consistent(self, corpus: list[CorpusItem]) -> None:
        for item in corpus:
            assert item.expected in ("allow", "redact", "block"), item
            assert (item.expected == "allow") == (not item.categories), item
            assert not item.pii or "personalData" in item.categories or item.rating == "mature"


class TestAllAgesTargets:
    """The issue's targets for a room with a child in it."""

    def test_unsafe_recall(self, report: dict[str, Any]) -> None:
        assert report["allAges"]["unsafeRecall"] >= 0.95

    def test_precision_on_safe_text(self, report: dict[str, Any]) -> None:
        assert report["allAges"]["safePrecision"] >= 0.90

    def test_pii_recall(self, report: dict[str, Any]) -> None:
        assert report["allAges"]["piiRecall"] >= 0.99


class TestOtherLevels:
    """Teen and mature rooms apply their own thresholds to the same kinds of text."""

    @pytest.mark.parametrize("rating", ["teen", "mature"])
    def test_verdicts_match_labels(self, report: dict[str, Any], rating: str) -> None:
        assert report[rating]["verdictAccuracy"] >= 0.9
        assert report[rating]["unsafeRecall"] == 1.0
