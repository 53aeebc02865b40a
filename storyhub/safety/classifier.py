"""The ML profanity classifier: ``alt-profanity-check`` (scikit-learn), made fast.

alt-profanity-check ships a TF-IDF vectoriser and a calibrated linear SVM
(``CalibratedClassifierCV`` over five ``LinearSVC`` folds, sigmoid calibration).
Calling scikit-learn for one message costs ~2 ms of input validation and sparse
matrix set-up, which is the whole per-message budget. The model is linear, so
:class:`ProfanityModel` folds it into one dictionary ``word -> (idf * w_1 .. w_k)``
at load time and scores a message in pure Python in microseconds, with the same
result as ``profanity_check.predict_prob`` (a unit test checks they agree).
:meth:`ProfanityModel.score_many` uses scikit-learn itself for large batches.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol


class ProfanityScorer(Protocol):
    """Anything that turns text into a probability that it is offensive."""

    def score(self, text: str) -> float:
        """Probability in [0, 1]."""
        ...


@dataclass(frozen=True, slots=True)
class ProfanityModel:
    """alt-profanity-check's model as plain numbers.

    ``weights[word]`` holds ``idf(word) * coef_i(word)`` for each calibrated fold
    ``i``; ``idf[word]`` the word's idf (for the L2 norm); ``intercepts``, ``slopes``
    and ``offsets`` the folds' SVM intercepts and sigmoid calibration parameters.
    """

    weights: dict[str, tuple[float, ...]]
    idf: dict[str, float]
    intercepts: tuple[float, ...]
    slopes: tuple[float, ...]
    offsets: tuple[float, ...]
    token_pattern: re.Pattern[str]
    sklearn_model: Any = None
    sklearn_vectorizer: Any = None

    def score(self, text: str) -> float:
        """The probability that ``text`` is profane, as ``predict_prob([text])[0]``."""
        counts = Counter(t for t in self.token_pattern.findall(text.lower()) if t in self.weights)
        folds = len(self.intercepts)
        sums = [0.0] * folds
        norm = 0.0
        for word, count in counts.items():
            weight = self.weights[word]
            value = count * self.idf[word]
            norm += value * value
            for i in range(folds):
                sums[i] += count * weight[i]
        scale = 1.0 / math.sqrt(norm) if norm > 0.0 else 0.0
        total = 0.0
        for i in range(folds):
            decision = sums[i] * scale + self.intercepts[i]
            total += _expit(-(self.slopes[i] * decision + self.offsets[i]))
        return total / folds

    def score_many(self, texts: Sequence[str]) -> list[float]:
        """Scores for many texts; scikit-learn's vectorised path pays off from ~50 texts."""
        if len(texts) < 50 or self.sklearn_model is None:
            return [self.score(t) for t in texts]
        matrix = self.sklearn_vectorizer.transform(list(texts))
        return [float(p) for p in self.sklearn_model.predict_proba(matrix)[:, 1]]


def _expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def compile_model(vectorizer: Any, model: Any) -> ProfanityModel:
    """Fold a fitted ``TfidfVectorizer`` + ``CalibratedClassifierCV(LinearSVC)`` into lookups."""
    params = vectorizer.get_params()
    if (
        params["ngram_range"] != (1, 1)
        or params["analyzer"] != "word"
        or params["sublinear_tf"]
        or params["norm"] != "l2"
        or not params["use_idf"]
    ):
        raise ValueError("compile_model supports word unigram TF-IDF with L2 norm only")
    folds = model.calibrated_classifiers_
    if any(f.method != "sigmoid" or len(f.calibrators) != 1 for f in folds):
        raise ValueError("compile_model supports binary sigmoid calibration only")
    idf_values = vectorizer.idf_
    coefs = [f.estimator.coef_[0] for f in folds]
    weights: dict[str, tuple[float, ...]] = {}
    idf: dict[str, float] = {}
    for word, column in vectorizer.vocabulary_.items():
        word_idf = float(idf_values[column])
        idf[word] = word_idf
        weights[word] = tuple(word_idf * float(c[column]) for c in coefs)
    return ProfanityModel(
        weights=weights,
        idf=idf,
        intercepts=tuple(float(f.estimator.intercept_[0]) for f in folds),
        slopes=tuple(float(f.calibrators[0].a_) for f in folds),
        offsets=tuple(float(f.calibrators[0].b_) for f in folds),
        token_pattern=re.compile(params["token_pattern"]),
        sklearn_model=model,
        sklearn_vectorizer=vectorizer,
    )


@lru_cache(maxsize=1)
def load_profanity_model() -> ProfanityModel:
    """alt-profanity-check's packaged model, compiled (about half a second, once)."""
    # Imported here: loading the pickles costs time and memory that only the
    # filter's first use should pay.
    from profanity_check import profanity_check  # type: ignore[import-untyped]

    return compile_model(profanity_check.vectorizer, profanity_check.model)
