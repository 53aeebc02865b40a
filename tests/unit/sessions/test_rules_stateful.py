"""Hypothesis explores the session rules: joins, leaves, turns, skips and votes in any order."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from storyhub.sessions import rules
from storyhub.sessions.rules import AI_SEAT, RuleViolation, SessionState

USERS = ["u1", "u2", "u3", "u4"]
ROLES = ["author", "editor", "viewer"]


class SessionMachine(RuleBasedStateMachine):
    """Drive one session's state with random commands; check invariants after each."""

    def __init__(self) -> None:
        super().__init__()
        self.state = SessionState(turn_seconds=10.0, vote_seconds=30.0)
        self.now = 1_000.0
        self.seqs: list[int] = []
        self.sockets: dict[str, int] = {}
        self.roles: dict[str, str] = {}
        self.ended = False

    @initialize(ai=st.booleans())
    def choose_ai_seat(self, ai: bool) -> None:
        self.state = SessionState(turn_seconds=10.0, vote_seconds=30.0, ai_seat=ai)

    @rule(user=st.sampled_from(USERS), role=st.sampled_from(ROLES))
    def join(self, user: str, role: str) -> None:
        role = self.roles.setdefault(user, role)
        self.state = rules.join(self.state, user, role, self.now)  # type: ignore[arg-type]
        self.sockets[user] = self.sockets.get(user, 0) + 1

    @rule(user=st.sampled_from(USERS))
    def leave(self, user: str) -> None:
        self.state = rules.leave(self.state, user, self.now)
        if self.sockets.get(user, 0) > 0:
            self.sockets[user] -= 1

    @rule(user=st.sampled_from(USERS))
    def submit(self, user: str) -> None:
        holder = self.state.holder
        try:
            self.state, seq = rules.submit_turn(self.state, user, self.now)
        except RuleViolation as refused:
            assert self.ended or holder not in (user, None)
            assert refused.code in ("notYourTurn", "storyEnded")  # noqa: PT017 - a machine step, not a single call
            return
        assert holder in (user, None)
        assert not self.ended
        self.seqs.append(seq)

    @rule()
    def ai_acts(self) -> None:
        if self.state.holder != AI_SEAT:
            with pytest.raises(RuleViolation):
                rules.pass_turn(self.state, AI_SEAT, self.now)
            return
        self.state = rules.pass_turn(self.state, AI_SEAT, self.now)

    @rule(seconds=st.floats(min_value=0.0, max_value=40.0))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        before = self.state
        self.state = rules.tick(self.state, self.now)
        if before.deadline is not None and before.deadline <= self.now and before.holder:
            assert self.state.deadline is None or self.state.deadline > self.now

    @rule(user=st.sampled_from(USERS))
    def start_vote(self, user: str) -> None:
        try:
            self.state = rules.start_vote(self.state, user, f"v{self.now}", self.now)
        except RuleViolation as refused:
            assert refused.code in ("storyEnded", "notPresent", "voteInProgress")  # noqa: PT017

    @rule(user=st.sampled_from(USERS), in_favor=st.booleans())
    def vote(self, user: str, in_favor: bool) -> None:
        vote_id = self.state.vote.vote_id if self.state.vote else "none"
        try:
            self.state = rules.cast_vote(self.state, user, vote_id, in_favor, self.now)
        except RuleViolation as refused:
            assert refused.code in ("storyEnded", "voteNotFound", "notPresent", "alreadyVoted")  # noqa: PT017

    @rule(user=st.sampled_from(USERS), role=st.sampled_from([*ROLES, None]))
    def role_changes(self, user: str, role: str | None) -> None:
        self.state = rules.change_role(self.state, user, role, self.now)  # type: ignore[arg-type]
        if role is None:
            self.sockets.pop(user, None)
            self.roles.pop(user, None)
        else:
            self.roles[user] = role

    @rule()
    def owner_ends(self) -> None:
        self.state = rules.end_story(self.state)

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def seq_strictly_increases_without_gaps(self) -> None:
        assert self.seqs == list(range(1, len(self.seqs) + 1))
        assert self.state.last_seq == len(self.seqs)

    @invariant()
    def at_most_one_holder_and_it_may_hold(self) -> None:
        holder = self.state.holder
        if holder is None:
            return
        # One field, one holder: a writer in the roster, or the AI seat when enabled.
        assert holder in self.state.roster or (holder == AI_SEAT and self.state.ai_seat)
        assert self.state.deadline is not None

    @invariant()
    def someone_holds_the_turn_while_a_writer_is_present(self) -> None:
        if not self.state.ended and self.state.present_authors:
            assert self.state.holder is not None

    @invariant()
    def presence_counts_each_user_once(self) -> None:
        expected = {u for u, n in self.sockets.items() if n > 0}
        assert self.state.present == expected

    @invariant()
    def ended_story_has_no_turn_and_no_open_vote(self) -> None:
        if self.state.vote is not None and self.state.vote.status == "passed":
            assert self.state.ended
        if self.state.ended:
            self.ended = True
            assert self.state.holder is None
            assert self.state.vote is None or self.state.vote.status != "open"
        assert self.ended == self.state.ended  # never un-ends

    @invariant()
    def open_vote_is_undecided(self) -> None:
        vote = self.state.vote
        if vote is not None and vote.status == "open":
            yes, no, authors = rules.vote_tally(self.state)
            assert yes * 2 <= authors
            assert no * 2 < authors


TestSessionRules = SessionMachine.TestCase
TestSessionRules.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
