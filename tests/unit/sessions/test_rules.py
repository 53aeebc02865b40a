"""Examples of the session rules, one behaviour each."""

from __future__ import annotations

import pytest

from storyhub.sessions import rules
from storyhub.sessions.rules import AI_SEAT, RuleViolation, SessionState, TokenBucket


def _room(*users: str, ai: bool = False, now: float = 0.0) -> SessionState:
    state = SessionState(turn_seconds=10, vote_seconds=30, ai_seat=ai)
    for user in users:
        state = rules.join(state, user, "author", now)
    return state


class TestTurns:
    def test_turns_go_round_robin_in_join_order(self) -> None:
        state = _room("a", "b", "c")
        holders = []
        for _ in range(4):
            holders.append(state.holder)
            state, _ = rules.submit_turn(state, state.holder or "", 1.0)
        assert holders == ["a", "b", "c", "a"]
        assert state.last_seq == 4

    def test_a_free_turn_may_be_taken_by_any_writer(self) -> None:
        state, seq = rules.submit_turn(SessionState(), "rest-only", 1.0)
        assert seq == 1
        assert state.holder is None  # nobody present to hand the turn to
        with pytest.raises(RuleViolation):
            rules.ai_segment(SessionState(ai_seat=True), 1.0)

    def test_out_of_turn_submit_is_refused(self) -> None:
        with pytest.raises(RuleViolation) as refused:
            rules.submit_turn(_room("a", "b"), "b", 1.0)
        assert refused.value.code == "notYourTurn"

    def test_deadline_skips_to_the_next_present_author(self) -> None:
        state = _room("a", "b", "c")
        state = rules.leave(state, "b", 1.0)
        state = rules.tick(state, 10.0)
        assert state.holder == "c"
        assert state.deadline == 20.0

    def test_absent_holder_keeps_the_turn_until_the_deadline(self) -> None:
        state = rules.leave(_room("a", "b"), "a", 1.0)
        assert state.holder == "a"
        assert rules.tick(state, 9.9).holder == "a"
        assert rules.tick(state, 10.0).holder == "b"

    def test_viewers_and_editors(self) -> None:
        state = rules.join(SessionState(), "v", "viewer", 0.0)
        assert state.holder is None
        assert state.roster == ()
        state = rules.join(state, "e", "editor", 0.0)
        assert state.holder == "e"

    def test_ai_seat_follows_the_humans_and_can_pass(self) -> None:
        state = _room("a", ai=True)
        state, _ = rules.submit_turn(state, "a", 1.0)
        assert state.holder == AI_SEAT
        state = rules.pass_turn(state, AI_SEAT, 2.0)
        assert state.holder == "a"

    def test_ai_seat_alone_never_holds(self) -> None:
        state = rules.leave(_room("a", ai=True), "a", 1.0)
        assert rules.tick(state, 10.0).holder is None

    def test_removed_holder_passes_the_turn_on(self) -> None:
        state = rules.change_role(_room("a", "b", "c"), "a", None, 1.0)
        assert state.holder == "b"
        assert "a" not in state.present
        assert "a" not in state.roster


class TestVotes:
    def test_majority_of_present_authors_ends_the_story(self) -> None:
        state = rules.start_vote(_room("a", "b", "c"), "a", "v1", 1.0)
        assert state.vote is not None
        assert state.vote.status == "open"
        state = rules.cast_vote(state, "b", "v1", True, 2.0)
        assert state.ended
        assert state.holder is None
        assert state.vote is not None
        assert state.vote.status == "passed"

    def test_half_is_not_a_majority(self) -> None:
        state = rules.start_vote(_room("a", "b", "c", "d"), "a", "v1", 1.0)
        state = rules.cast_vote(state, "b", "v1", True, 2.0)
        assert not state.ended
        state = rules.cast_vote(state, "c", "v1", False, 2.0)
        state = rules.cast_vote(state, "d", "v1", False, 2.0)
        assert state.vote is not None
        assert state.vote.status == "rejected"

    def test_vote_expires(self) -> None:
        state = rules.start_vote(_room("a", "b", "c"), "a", "v1", 1.0)
        state = rules.tick(state, 31.0)
        assert state.vote is not None
        assert state.vote.status == "expired"
        with pytest.raises(RuleViolation) as refused:
            rules.cast_vote(state, "b", "v1", True, 32.0)
        assert refused.value.code == "voteNotFound"

    def test_leaving_authors_lower_the_bar(self) -> None:
        state = rules.start_vote(_room("a", "b", "c"), "a", "v1", 1.0)
        state = rules.leave(state, "c", 2.0)
        state = rules.leave(state, "b", 2.0)
        assert state.ended

    def test_double_vote_and_absent_voter_are_refused(self) -> None:
        state = rules.start_vote(_room("a", "b", "c"), "a", "v1", 1.0)
        with pytest.raises(RuleViolation, match="already"):
            rules.cast_vote(state, "a", "v1", True, 2.0)
        with pytest.raises(RuleViolation) as refused:
            rules.cast_vote(state, "zed", "v1", True, 2.0)
        assert refused.value.code == "notPresent"


class TestPersistenceShape:
    def test_turn_state_round_trips(self) -> None:
        state, _ = rules.submit_turn(_room("a", "b"), "a", 5.0)
        doc = rules.turn_state_document(state)
        back = rules.restore(
            doc, last_seq=1, ended=False, turn_seconds=10, vote_seconds=30, ai_seat=False
        )
        assert (back.holder, back.deadline, back.roster) == ("b", 15.0, ("a", "b"))
        assert back.present == frozenset()

    def test_garbage_turn_state_restores_to_nobody(self) -> None:
        back = rules.restore(
            {"holder": "x", "deadline": "soon", "roster": [1, "a"]},
            last_seq=0,
            ended=False,
            turn_seconds=10,
            vote_seconds=30,
            ai_seat=False,
        )
        assert back.holder is None
        assert back.roster == ("a",)


class TestTokenBucket:
    def test_burst_then_steady_rate(self) -> None:
        bucket = TokenBucket(rate=20, burst=40)
        assert sum(bucket.allow(0.0) for _ in range(50)) == 40
        assert not bucket.allow(0.0)
        assert sum(bucket.allow(0.5) for _ in range(20)) == 10
