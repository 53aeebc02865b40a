"""The pipeline's decisions per level, and that it fails closed."""

from __future__ import annotations

import asyncio

import msgspec

from storyhub.safety.normalise import Normalised
from storyhub.safety.pipeline import (
    FILTER_UNAVAILABLE,
    SafetyPipeline,
    Verdict,
    check,
    check_sync,
    default_pipeline,
)
from storyhub.safety.rules import Finding, RuleSet, load_rules


class BrokenScorer:
    def score(self, text: str) -> float:
        raise RuntimeError("model file is corrupt")


class FixedScorer:
    def __init__(self, value: float) -> None:
        self.value = value

    def score(self, text: str) -> float:
        return self.value


class SlowModeration:
    async def findings(self, text: str) -> list[Finding]:
        await asyncio.sleep(10)
        return []

    async def aclose(self) -> None:
        return None


class FailingModeration:
    async def findings(self, text: str) -> list[Finding]:
        raise ConnectionError("moderation endpoint unreachable")

    async def aclose(self) -> None:
        return None


class FlaggingModeration:
    def __init__(self, *findings: Finding) -> None:
        self.found = list(findings)
        self.calls = 0
        self.texts: list[str] = []

    async def findings(self, text: str) -> list[Finding]:
        self.calls += 1
        self.texts.append(text)
        return self.found

    async def aclose(self) -> None:
        return None


class TestLevels:
    """The same text gets a different verdict in rooms of different levels."""

    def test_mild_profanity_blocks_all_ages_only(self) -> None:
        assert check_sync("damn, that dragon is fast", "allAges").verdict == "block"
        assert check_sync("damn, that dragon is fast", "teen").verdict == "allow"
        assert check_sync("damn, that dragon is fast", "mature").verdict == "allow"

    def test_strong_profanity_blocks_teen_but_not_mature(self) -> None:
        assert check_sync("fuck this story", "teen") == Verdict("block", ["profanity"])
        assert check_sync("fuck this story", "mature").verdict == "allow"

    def test_severe_categories_block_everywhere(self) -> None:
        for level in ("allAges", "teen", "mature"):
            assert check_sync("kill yourself", level).categories == ["selfHarm"]
            assert check_sync("don't tell your parents about me", level).verdict == "block"

    def test_personal_data_is_redacted_for_minors_and_left_for_adults(self) -> None:
        text = "call me on 555-123-4567"
        for level in ("allAges", "teen"):
            assert check_sync(text, level) == Verdict(
                "redact", ["personalData"], "call me on [redacted]"
            )
        assert check_sync(text, "mature") == Verdict("allow")

    def test_block_lists_personal_data_too(self) -> None:
        verdict = check_sync("text me at 555-867-5309 and don't tell your parents", "allAges")
        assert verdict == Verdict("block", ["grooming", "personalData"])

    def test_innocent_text_is_allowed(self) -> None:
        assert check_sync("The knight drew his sword in chapter 12.", "allAges") == Verdict("allow")

    def test_classifier_threshold_applies_in_all_ages_rooms(self) -> None:
        high = SafetyPipeline(scorer=FixedScorer(0.97))
        low = SafetyPipeline(scorer=FixedScorer(0.5))
        assert high.check_sync("you are a big meanie", "allAges").categories == ["profanity"]
        assert low.check_sync("you are a big meanie", "allAges").verdict == "allow"
        assert high.check_sync("you are a big meanie", "mature").verdict == "allow"

    def test_insults_count_as_profanity_for_children(self) -> None:
        assert check_sync("you are an idiot", "allAges").categories == ["profanity"]


class TestFailClosed:
    """Any failure inside the filter blocks the text with filterUnavailable."""

    def test_sync_exception_blocks(self) -> None:
        pipeline = SafetyPipeline(scorer=BrokenScorer())
        assert pipeline.check_sync("hello", "allAges") == FILTER_UNAVAILABLE

    async def test_async_exception_blocks(self) -> None:
        pipeline = SafetyPipeline(scorer=BrokenScorer())
        assert await pipeline.check("hello", "allAges") == FILTER_UNAVAILABLE

    async def test_moderation_timeout_blocks(self) -> None:
        pipeline = SafetyPipeline(moderation=SlowModeration(), timeout=0.05)  # type: ignore[arg-type]
        verdict = await asyncio.wait_for(pipeline.check("hello", "allAges"), 5)
        assert verdict == Verdict("block", ["filterUnavailable"])

    async def test_moderation_error_blocks(self) -> None:
        pipeline = SafetyPipeline(moderation=FailingModeration())  # type: ignore[arg-type]
        assert await pipeline.check("hello", "allAges") == FILTER_UNAVAILABLE

    async def test_rule_error_blocks(self) -> None:
        class ExplodingRules(RuleSet):
            def scan(self, text: Normalised) -> list[Finding]:
                raise ValueError("bad regex state")

        packaged = load_rules()
        pipeline = SafetyPipeline(rules=ExplodingRules(packaged.lexicon, packaged.phrases))
        assert await pipeline.check("hello", "teen") == FILTER_UNAVAILABLE
        assert pipeline.check_sync("hello", "teen") == FILTER_UNAVAILABLE

    async def test_too_long_text_is_blocked_not_half_checked(self) -> None:
        text = "hello " * 2000
        assert (await check(text, "mature")).categories == ["tooLong"]
        assert check_sync(text, "mature").verdict == "block"

    async def test_long_text_is_checked_off_the_loop_with_the_same_result(self) -> None:
        text = ("The dragon slept. " * 60) + "fuck"
        assert len(text) > 1000
        assert await check(text, "allAges") == Verdict("block", ["profanity"])


class TestModeration:
    """The remote opinion is combined with the local one under the room's level."""

    async def test_remote_finding_blocks_per_level(self) -> None:
        sexual = Finding("sexual", "strong", 0, 0, "openai:sexual")
        pipeline = SafetyPipeline(moderation=FlaggingModeration(sexual))  # type: ignore[arg-type]
        assert await pipeline.check("a tender scene", "teen") == Verdict("block", ["sexual"])
        assert (await pipeline.check("a tender scene", "mature")).verdict == "allow"

    async def test_remote_is_not_asked_when_local_rules_already_block(self) -> None:
        moderation = FlaggingModeration()
        pipeline = SafetyPipeline(moderation=moderation)  # type: ignore[arg-type]
        assert (await pipeline.check("kys", "allAges")).verdict == "block"
        assert moderation.calls == 0

    async def test_remote_sees_only_the_redacted_text(self) -> None:
        moderation = FlaggingModeration()
        pipeline = SafetyPipeline(moderation=moderation)  # type: ignore[arg-type]
        await pipeline.check("call me on 555-123-4567", "allAges")
        assert moderation.texts == ["call me on [redacted]"]

    async def test_remote_is_not_asked_when_not_allowed(self) -> None:
        sexual = Finding("sexual", "strong", 0, 0, "openai:sexual")
        moderation = FlaggingModeration(sexual)
        pipeline = SafetyPipeline(moderation=moderation)  # type: ignore[arg-type]
        verdict = await pipeline.check("a tender scene", "teen", allow_remote=False)
        assert verdict == Verdict("allow")
        assert moderation.calls == 0

    async def test_redaction_survives_a_clean_remote_answer(self) -> None:
        pipeline = SafetyPipeline(moderation=FlaggingModeration())  # type: ignore[arg-type]
        verdict = await pipeline.check("mail me at a@b.com", "allAges")
        assert verdict == Verdict("redact", ["personalData"], "mail me at [redacted]")


class TestVerdict:
    """The verdict's wire shape."""

    def test_encodes_as_the_cli_and_protocol_expect(self) -> None:
        encoded = msgspec.json.encode(Verdict("redact", ["personalData"], "x [redacted]"))
        assert msgspec.json.decode(encoded) == {
            "verdict": "redact",
            "categories": ["personalData"],
            "redacted": "x [redacted]",
        }

    def test_check_many_matches_single_checks(self) -> None:
        texts = ["hello", "fuck", "call 555-123-4567"]
        pipeline = default_pipeline()
        assert pipeline.check_many(texts, "allAges") == [
            pipeline.check_sync(t, "allAges") for t in texts
        ]
