"""The compiled classifier gives exactly alt-profanity-check's probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyhub.safety.classifier import compile_model, load_profanity_model

CORPUS = Path(__file__).resolve().parents[2] / "safety" / "corpus.jsonl"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines()]


class TestProfanityModel:
    """Fast path == scikit-learn path."""

    def test_scores_match_predict_prob(self, texts: list[str]) -> None:
        from profanity_check import predict_prob

        expected = predict_prob(texts)
        model = load_profanity_model()
        assert all(abs(model.score(t) - e) < 1e-9 for t, e in zip(texts, expected, strict=True))

    def test_batch_scores_match_single_scores(self, texts: list[str]) -> None:
        model = load_profanity_model()
        batch = model.score_many(texts)
        assert all(abs(b - model.score(t)) < 1e-9 for b, t in zip(batch, texts, strict=True))

    def test_offensive_text_scores_high_and_plain_text_low(self) -> None:
        model = load_profanity_model()
        assert model.score("fuck you") > 0.99
        assert model.score("the cat sat on the mat") < 0.2
        assert 0.0 <= model.score("") <= 1.0

    def test_unsupported_vectoriser_is_refused(self) -> None:
        from profanity_check import profanity_check

        vectorizer = profanity_check.vectorizer
        original = vectorizer.ngram_range
        vectorizer.ngram_range = (1, 2)
        try:
            with pytest.raises(ValueError, match="unigram"):
                compile_model(vectorizer, profanity_check.model)
        finally:
            vectorizer.ngram_range = original
