"""The AI narrator's rules: stale text, regenerations, asking again, and consent."""

from __future__ import annotations

import uuid

import pytest

from storyhub.sessions import rules
from storyhub.sessions.ai_seat import NarratorSeat
from storyhub.sessions.hooks import AiTurnContext
from storyhub.sessions.rules import AI_SEAT, RuleViolation, SessionState

ALICE = "alice"


def _ai_turn(last_seq: int = 1) -> SessionState:
    state = rules.join(SessionState(turn_seconds=10, ai_seat=True), ALICE, "author", 0.0)
    state, _ = rules.submit_turn(rules.with_last_seq(state, last_seq - 1), ALICE, 1.0)
    assert state.holder == AI_SEAT
    return state


class TestStaleText:
    def test_text_for_the_turn_the_seat_holds_is_current(self) -> None:
        state = _ai_turn(last_seq=3)
        assert rules.ai_text_current(state, 3)
        assert rules.ai_text_current(state, None)

    def test_text_for_an_older_turn_or_after_the_seat_lost_it_is_stale(self) -> None:
        state = _ai_turn(last_seq=3)
        assert not rules.ai_text_current(state, 2)
        skipped = rules.tick(state, 100.0)
        assert skipped.holder == ALICE
        assert not rules.ai_text_current(skipped, 3)
        assert not rules.ai_text_current(rules.end_story(state), 3)


class TestRegenerations:
    @pytest.mark.parametrize(
        ("attempt", "limit", "expected"),
        [(0, 2, 1), (1, 2, 2), (2, 2, None), (0, 0, None), (5, 2, None)],
    )
    def test_blocked_text_is_written_again_up_to_the_limit(
        self, attempt: int, limit: int, expected: int | None
    ) -> None:
        assert rules.next_ai_attempt(attempt, limit) == expected


class TestAskingAgain:
    def test_the_seat_takes_the_turn_back_when_the_last_segment_is_its_own(self) -> None:
        state, seq = rules.ai_segment(_ai_turn(last_seq=1), 2.0)
        assert (seq, state.holder) == (2, ALICE)
        again = rules.regenerate_ai(state, last_segment_by_ai=True, now=5.0)
        assert again.holder == AI_SEAT
        assert again.deadline == 15.0
        assert again.last_seq == 2  # the same segment is rewritten, nothing is added
        after = rules.pass_turn(again, AI_SEAT, 6.0)
        assert after.holder == ALICE

    def test_refused_when_a_writer_wrote_last_or_the_seat_is_busy_or_absent(self) -> None:
        state, _ = rules.ai_segment(_ai_turn(), 2.0)
        with pytest.raises(RuleViolation) as refused:
            rules.regenerate_ai(state, last_segment_by_ai=False, now=3.0)
        assert refused.value.code == "nothingToRegenerate"
        with pytest.raises(RuleViolation) as busy:
            rules.regenerate_ai(_ai_turn(), last_segment_by_ai=True, now=3.0)
        assert busy.value.code == "aiBusy"
        no_seat = rules.join(SessionState(), ALICE, "author", 0.0)
        with pytest.raises(RuleViolation) as absent:
            rules.regenerate_ai(rules.with_last_seq(no_seat, 4), True, 1.0)
        assert absent.value.code == "nothingToRegenerate"
        with pytest.raises(RuleViolation) as ended:
            rules.regenerate_ai(rules.end_story(state), True, 3.0)
        assert ended.value.code == "storyEnded"


class TestConsent:
    def test_adults_always_may_minors_need_the_scope(self) -> None:
        assert rules.remote_ai_allowed([])
        assert rules.remote_ai_allowed([("adult", False), ("adult", True)])
        assert rules.remote_ai_allowed([("adult", False), ("child", True), ("teen", True)])
        assert not rules.remote_ai_allowed([("adult", True), ("child", False)])
        assert not rules.remote_ai_allowed([("olderTeen", False)])


class TestNarratorSeat:
    """The seat with its two I/O edges replaced (the e2e tests run the real ones)."""

    async def test_queues_the_turn_with_the_room_s_answer_and_defers(self) -> None:
        queued: list[tuple[AiTurnContext, bool]] = []

        async def enqueue(context: AiTurnContext, allow_remote: bool) -> None:
            queued.append((context, allow_remote))

        async def no_remote(_: uuid.UUID) -> bool:
            return False

        seat = NarratorSeat(max_regenerations=2, enqueue=enqueue, remote_policy=no_remote)
        context = AiTurnContext(uuid.uuid4(), 7, 100.0, attempt=1)
        decision = await seat.turn_started(context)
        assert decision.action == "deferred"
        assert queued == [(context, False)]

    async def test_a_seat_that_cannot_queue_passes_and_says_why(self) -> None:
        async def broken(context: AiTurnContext, allow_remote: bool) -> None:
            raise ConnectionError("queue down")

        async def remote(_: uuid.UUID) -> bool:
            return True

        seat = NarratorSeat(max_regenerations=2, enqueue=broken, remote_policy=remote)
        decision = await seat.turn_started(AiTurnContext(uuid.uuid4(), 1, 10.0))
        assert (decision.action, decision.skip_reason) == ("pass_turn", "failed")
