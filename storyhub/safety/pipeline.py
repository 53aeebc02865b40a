"""The content filter: normalise -> personal data -> rules -> classifier -> decision.

Every user turn, chat message, AI text and AI image prompt goes through
:meth:`SafetyPipeline.check` before it is stored or broadcast. The answer is a
:class:`Verdict`: ``allow``; ``redact`` (personal data replaced, store and show
``redacted``); or ``block`` (show nothing, queue for moderation) with the
categories that caused it.

Fail closed: any exception or timeout inside the filter is a ``block`` with the
category ``filterUnavailable``; nothing unfiltered is ever passed on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import msgspec

from storyhub.safety import pii
from storyhub.safety.classifier import ProfanityScorer, load_profanity_model
from storyhub.safety.levels import (
    REDACTS_PERSONAL_DATA,
    SafetyLevel,
    blocks,
    ordered,
)
from storyhub.safety.normalise import MAX_CHARS
from storyhub.safety.rules import Finding, RuleSet, load_rules

if TYPE_CHECKING:
    from storyhub.safety.openai_moderation import OpenAIModeration
    from storyhub.settings import Settings

log = logging.getLogger(__name__)

CLASSIFIER_THRESHOLD: dict[SafetyLevel, float | None] = {
    "allAges": 0.95,
    "teen": 0.99,
    "mature": None,
}
"""Probability from the ML classifier at which a message counts as profanity.

The model is trained on offensive comments, so it also scores insults ("you are an
idiot": 1.0, "shut up": 0.98) and some plain words ("stupid", "hate") high. 0.95 in
``allAges`` rooms blocks insults aimed at someone while leaving most story
narration alone (measured on the corpus, see docs/safety.md).

``mature`` rooms allow profanity, so the classifier is not consulted there. In
``teen`` rooms mild words (lexicon severity ``mild``) are removed before scoring,
so "damn" or "what the hell" alone do not trip the model.
"""

INLINE_MAX_CHARS = 1000
"""Longer texts are filtered in a worker thread so the event loop keeps serving others
(an adversarial 8,000-character text costs up to ~0.1 s)."""

DEFAULT_TIMEOUT = 3.0
"""Seconds :meth:`SafetyPipeline.check` may take (the OpenAI call included)."""


class TextTooLong(ValueError):
    """The text is longer than the filter reads; it must be blocked, not half-checked."""


class Verdict(msgspec.Struct, frozen=True):
    """What may happen to a piece of text."""

    verdict: Literal["allow", "redact", "block"]
    categories: list[str] = msgspec.field(default_factory=list)
    """Why (empty for ``allow``), most urgent first."""
    redacted: str | None = None
    """For ``redact``: the text to store and show instead."""


ALLOW = Verdict("allow")
FILTER_UNAVAILABLE = Verdict("block", ["filterUnavailable"])
TOO_LONG = Verdict("block", ["tooLong"])
"""Texts over :data:`~storyhub.safety.normalise.MAX_CHARS` are not filtered, so not passed."""


def decide(
    text: str,
    level: SafetyLevel,
    findings: Iterable[Finding],
    pii_spans: Sequence[pii.PiiSpan],
    profanity: float,
) -> Verdict:
    """The verdict for ``text`` in a room at ``level``, given what the detectors found."""
    blocking = [f.category for f in findings if blocks(level, f.severity)]
    threshold = CLASSIFIER_THRESHOLD[level]
    if threshold is not None and profanity >= threshold:
        blocking.append("profanity")
    redacts = bool(pii_spans) and REDACTS_PERSONAL_DATA[level]
    if blocking:
        return Verdict("block", ordered([*blocking, *(["personalData"] if redacts else [])]))
    if redacts:
        return Verdict("redact", ["personalData"], pii.redact(text, list(pii_spans)))
    return ALLOW


class SafetyPipeline:
    """The filter with its parts; cheap to call, built once per process or app."""

    def __init__(
        self,
        *,
        rules: RuleSet | None = None,
        scorer: ProfanityScorer | None = None,
        moderation: OpenAIModeration | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.rules = rules if rules is not None else load_rules()
        self._scorer = scorer
        self.moderation = moderation
        self.timeout = timeout

    @property
    def scorer(self) -> ProfanityScorer:
        """The ML classifier, loaded on first use."""
        if self._scorer is None:
            self._scorer = load_profanity_model()
        return self._scorer

    def warm_up(self) -> None:
        """Load the model and phone metadata now rather than on the first message."""
        _ = self.scorer
        pii.warm_up()
        self.check_sync("warm up", "allAges")

    def evaluate(
        self, text: str, level: SafetyLevel
    ) -> tuple[list[Finding], list[pii.PiiSpan], float]:
        """Run the offline detectors: rule findings, personal-data spans, profanity score.

        Raises whatever a detector raises; :meth:`check_sync` turns that into a block.
        """
        if len(text) > MAX_CHARS:
            raise TextTooLong(len(text))
        normalised = self.rules.normalise(text)
        spans = pii.find_pii(text) if REDACTS_PERSONAL_DATA[level] else []
        findings = self.rules.scan(normalised)
        profanity = 0.0
        if CLASSIFIER_THRESHOLD[level] is not None:
            scored = normalised.canonical
            if level == "teen":
                scored = _without_mild(scored, findings)
            profanity = self.scorer.score(scored)
        return findings, spans, profanity

    def check_sync(self, text: str, level: SafetyLevel) -> Verdict:
        """The offline verdict (rules, personal data, classifier); fails closed."""
        if len(text) > MAX_CHARS:
            return TOO_LONG
        try:
            findings, spans, profanity = self.evaluate(text, level)
            return decide(text, level, findings, spans, profanity)
        except Exception:
            log.exception("content filter failed; blocking")
            return FILTER_UNAVAILABLE

    def check_many(self, texts: Sequence[str], level: SafetyLevel) -> list[Verdict]:
        """Offline verdicts for many texts (e.g. re-checking a story); each fails closed alone."""
        return [self.check_sync(text, level) for text in texts]

    async def check(self, text: str, level: SafetyLevel, *, allow_remote: bool = True) -> Verdict:
        """The verdict for ``text`` in a room at ``level``; fails closed on error or timeout.

        The offline part runs inline for short texts (well under the 2 ms budget,
        less than a hop to a thread) and in a worker thread for long ones. With
        OpenAI configured, ``allow_remote`` true and the offline verdict not already
        a block, the moderation endpoint is asked as well, with personal data
        already redacted. Pass ``allow_remote=False`` when the text may not leave
        storyhub (a child without the AI-features consent scope).
        """
        if len(text) > MAX_CHARS:
            return TOO_LONG
        try:
            async with asyncio.timeout(self.timeout):
                if len(text) > INLINE_MAX_CHARS:
                    findings, spans, profanity = await asyncio.to_thread(self.evaluate, text, level)
                else:
                    findings, spans, profanity = self.evaluate(text, level)
                local = decide(text, level, findings, spans, profanity)
                if self.moderation is None or not allow_remote or local.verdict == "block":
                    return local
                # Only what would be stored leaves storyhub: never the redacted parts.
                remote = await self.moderation.findings(local.redacted or text)
                return decide(text, level, [*findings, *remote], spans, profanity)
        except Exception:
            # TimeoutError included: an unanswered filter must not let text through.
            log.exception("content filter failed or timed out; blocking")
            return FILTER_UNAVAILABLE

    async def aclose(self) -> None:
        """Release the OpenAI client, if any."""
        if self.moderation is not None:
            await self.moderation.aclose()


def _without_mild(canonical: str, findings: Iterable[Finding]) -> str:
    """``canonical`` with the spans of mild findings blanked out."""
    chars = list(canonical)
    for finding in findings:
        if finding.severity == "mild" and finding.end > finding.start:
            chars[finding.start : finding.end] = " " * (finding.end - finding.start)
    return "".join(chars)


def build_pipeline(settings: Settings | None = None, http_client: object = None) -> SafetyPipeline:
    """The service's pipeline: offline parts, plus OpenAI moderation when a key is set."""
    moderation = None
    if settings is not None:
        from storyhub.safety.openai_moderation import moderation_from_settings

        moderation = moderation_from_settings(settings, http_client=http_client)
    return SafetyPipeline(moderation=moderation)


@lru_cache(maxsize=1)
def default_pipeline() -> SafetyPipeline:
    """A process-wide offline pipeline for callers without settings (CLI, scripts)."""
    return SafetyPipeline()


def check_sync(text: str, level: SafetyLevel) -> Verdict:
    """:meth:`SafetyPipeline.check_sync` on :func:`default_pipeline`."""
    return default_pipeline().check_sync(text, level)


async def check(text: str, level: SafetyLevel) -> Verdict:
    """:meth:`SafetyPipeline.check` on :func:`default_pipeline` (offline only)."""
    return await default_pipeline().check(text, level)
