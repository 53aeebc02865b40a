"""SafetyContentFilter with a stubbed pipeline, queue and member lookup (no I/O)."""

from __future__ import annotations

import uuid
from typing import Any

from storyhub.safety.levels import SafetyLevel
from storyhub.safety.pipeline import Verdict
from storyhub.safety.room_filter import BLOCKED_MESSAGE, SafetyContentFilter, room_level
from storyhub.sessions.hooks import ContentContext

STORY = uuid.uuid4()
AUTHOR = uuid.uuid4()


class FakePipeline:
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.calls: list[tuple[str, SafetyLevel, bool]] = []

    async def check(self, text: str, level: SafetyLevel, *, allow_remote: bool = True) -> Verdict:
        self.calls.append((text, level, allow_remote))
        return self.verdict


class FakeQueue:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.items: list[dict[str, Any]] = []

    async def record_blocked(self, **item: Any) -> uuid.UUID:
        if self.fail:
            raise RuntimeError("database down")
        self.items.append(item)
        return uuid.uuid4()


class Tiers:
    def __init__(self, *tiers: str) -> None:
        self.tiers = tiers
        self.loads = 0

    async def __call__(self, story_id: uuid.UUID) -> tuple[str, ...]:
        self.loads += 1
        return self.tiers


def _filter(
    verdict: Verdict, tiers: Tiers, queue: FakeQueue | None = None, now: list[float] | None = None
) -> tuple[SafetyContentFilter, FakePipeline, FakeQueue]:
    pipeline, queue = FakePipeline(verdict), queue or FakeQueue()
    clock = now or [0.0]
    content = SafetyContentFilter(
        pipeline,  # type: ignore[arg-type]
        queue,  # type: ignore[arg-type]
        cache_seconds=5,
        clock=lambda: clock[0],
        load_tiers=tiers,
    )
    return content, pipeline, queue


def _context(rating: str = "mature", kind: str = "turn") -> ContentContext:
    return ContentContext(STORY, AUTHOR, rating, kind)  # type: ignore[arg-type]


def test_room_level_follows_the_youngest_member_and_distrusts_unknown_ratings() -> None:
    assert room_level("mature", ("adult", "adult")) == "mature"
    assert room_level("mature", ("adult", "teen")) == "teen"
    assert room_level("teen", ("adult", "child")) == "allAges"
    assert room_level("nonsense", ("adult",)) == "allAges"


async def test_adults_only_room_uses_the_rating_and_may_ask_the_remote_model() -> None:
    content, pipeline, _ = _filter(Verdict("allow"), Tiers("adult", "adult"))
    verdict = await content.check("Hello.", _context("mature"))
    assert verdict.allowed
    assert verdict.text == "Hello."
    assert pipeline.calls == [("Hello.", "mature", True)]


async def test_a_minor_lowers_the_level_and_keeps_text_local() -> None:
    content, pipeline, _ = _filter(Verdict("allow"), Tiers("adult", "teen"))
    await content.check("Hello.", _context("mature"))
    assert pipeline.calls == [("Hello.", "teen", False)]


async def test_redact_stores_the_redacted_text() -> None:
    redact = Verdict("redact", ["personalData"], "call [redacted]")
    content, _, queue = _filter(redact, Tiers("child"))
    verdict = await content.check("call 07700 900123", _context("allAges"))
    assert verdict.allowed
    assert verdict.text == "call [redacted]"
    assert queue.items == []


async def test_block_refuses_with_categories_and_queues_the_original() -> None:
    block = Verdict("block", ["profanity"])
    content, _, queue = _filter(block, Tiers("adult", "child"))
    verdict = await content.check("rude words", _context("allAges", "chat"))
    assert not verdict.allowed
    assert verdict.categories == ("profanity",)
    assert verdict.reason == BLOCKED_MESSAGE
    assert queue.items == [
        {
            "story_id": STORY,
            "author_id": AUTHOR,
            "source": "chat",
            "content": "rude words",
            "verdict": block,
        }
    ]


async def test_a_failing_queue_still_refuses() -> None:
    content, _, _ = _filter(Verdict("block", ["hate"]), Tiers("adult"), FakeQueue(fail=True))
    verdict = await content.check("bad", _context())
    assert not verdict.allowed
    assert verdict.categories == ("hate",)


async def test_tiers_are_cached_for_a_few_seconds() -> None:
    tiers, now = Tiers("adult"), [0.0]
    content, _, _ = _filter(Verdict("allow"), tiers, now=now)
    await content.check("a", _context())
    now[0] = 4.0
    await content.check("b", _context())
    assert tiers.loads == 1
    now[0] = 6.0
    await content.check("c", _context())
    assert tiers.loads == 2


async def test_failing_tier_lookup_filters_as_if_a_child_were_present() -> None:
    async def broken(story_id: uuid.UUID) -> tuple[str, ...]:
        raise RuntimeError("database down")

    pipeline = FakePipeline(Verdict("allow"))
    content = SafetyContentFilter(pipeline, FakeQueue(), load_tiers=broken)  # type: ignore[arg-type]
    await content.check("a", _context("mature"))
    assert pipeline.calls == [("a", "allAges", False)]
