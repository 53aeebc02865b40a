"""Pure rules of a story session: turns, deadlines, votes, presence, access.

Functions here take an immutable :class:`SessionState` (plus the caller and
``now`` in epoch seconds) and return a new one, or raise
:class:`RuleViolation` with a stable code. No asyncio, no I/O: an
import-linter contract forbids it, and Hypothesis explores them in
``tests/unit/sessions``.

Seats are strings: a user id (``str(UUID)``) or :data:`AI_SEAT`. Turn order is
round-robin over the *roster* — writers (roles ``author`` and ``editor``; called
"authors" below) in the order they first joined — keeping only present ones,
with the AI seat last when the story has an AI narrator (and at least one
human author is present to read it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from storyhub.stories.policy import can_write

AI_SEAT = "ai"
Role = Literal["owner", "author", "editor", "viewer"]
VoteStatus = Literal["open", "passed", "rejected", "expired"]


class RuleViolation(Exception):
    """A command the rules refuse; ``code`` is the stable wire error code."""

    def __init__(self, code: str, message: str, categories: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.categories = categories
        """For ``contentBlocked``: the safety categories that refused the text."""


@dataclass(frozen=True)
class Vote:
    """A vote to end the story."""

    vote_id: str
    started_by: str
    expires_at: float
    in_favor: frozenset[str] = frozenset()
    against: frozenset[str] = frozenset()
    status: VoteStatus = "open"


@dataclass(frozen=True)
class SessionState:
    """Everything the rules decide on; the actor holds exactly one at a time."""

    turn_seconds: float = 60.0
    vote_seconds: float = 60.0
    ai_seat: bool = False
    roster: tuple[str, ...] = ()
    """Authors in turn order (order of first join); persisted."""
    sockets: Mapping[str, int] = field(default_factory=dict)
    """Joined sockets per user; a user is present while this is positive."""
    roles: Mapping[str, Role] = field(default_factory=dict)
    """Role of each present user."""
    holder: str | None = None
    deadline: float | None = None
    last_seq: int = 0
    vote: Vote | None = None
    ended: bool = False
    ended_reason: Literal["vote", "owner"] | None = None

    @property
    def present(self) -> frozenset[str]:
        """Users with at least one joined socket (several sockets count once)."""
        return frozenset(u for u, n in self.sockets.items() if n > 0)

    @property
    def present_authors(self) -> frozenset[str]:
        """Present writers: they take turns and decide votes."""
        return frozenset(u for u in self.present if is_writer(self.roles.get(u)))


# --- access -------------------------------------------------------------------------


def is_writer(role: str | None) -> bool:
    """Writers (stored roles ``author`` and ``editor``; the owner is an author) take
    turns, chat and vote; viewers only read. Mirrors ``storyhub.stories.policy.can_write``."""
    return can_write(role)  # type: ignore[arg-type]


# --- turns ----------------------------------------------------------------------------


def _cycle(state: SessionState) -> list[str]:
    present = state.present_authors
    seats = [u for u in state.roster if u in present]
    if state.ai_seat and seats:
        seats.append(AI_SEAT)
    return seats


def next_seat(state: SessionState, after: str | None) -> str | None:
    """The seat after ``after`` in round-robin order, skipping absent authors."""
    cycle = _cycle(state)
    if not cycle:
        return None
    full = [*state.roster, AI_SEAT] if state.ai_seat else list(state.roster)
    if after is None or after not in full:
        return cycle[0]
    start = full.index(after)
    for offset in range(1, len(full) + 1):
        seat = full[(start + offset) % len(full)]
        if seat in cycle:
            return seat
    return cycle[0]  # pragma: no cover - cycle is a subset of full


def _give_turn(state: SessionState, seat: str | None, now: float) -> SessionState:
    if state.ended or seat is None:
        return replace(state, holder=None, deadline=None)
    return replace(state, holder=seat, deadline=now + state.turn_seconds)


def _ensure_holder(state: SessionState, now: float) -> SessionState:
    """Give the turn to someone when nobody holds it and an author is present."""
    if state.ended or state.holder is not None:
        return state
    return _give_turn(state, next_seat(state, None), now)


def _check_open(state: SessionState) -> None:
    if state.ended:
        raise RuleViolation("storyEnded", "The story is completed.")


def submit_turn(state: SessionState, user: str, now: float) -> tuple[SessionState, int]:
    """``user`` adds a segment: returns the state after it and the segment's seq.

    When nobody holds the turn (no writer is present, e.g. a REST-only client),
    any writer may add a segment; the AI seat only ever writes on its own turn.
    """
    _check_open(state)
    free = state.holder is None and user != AI_SEAT
    if state.holder != user and not free:
        raise RuleViolation("notYourTurn", "It is not your turn.")
    seq = state.last_seq + 1
    advanced = replace(state, last_seq=seq)
    return _give_turn(advanced, next_seat(advanced, user), now), seq


def ai_segment(state: SessionState, now: float) -> tuple[SessionState, int]:
    """The AI seat adds a segment (author ``None``)."""
    return submit_turn(state, AI_SEAT, now)


def pass_turn(state: SessionState, seat: str, now: float) -> SessionState:
    """``seat`` gives up its turn without writing (the AI seat's default)."""
    _check_open(state)
    if state.holder != seat:
        raise RuleViolation("notYourTurn", "It is not your turn.")
    return _give_turn(state, next_seat(state, seat), now)


def ai_text_current(state: SessionState, turn_seq: int | None) -> bool:
    """True while the AI seat holds the turn ``turn_seq`` names.

    ``turn_seq`` is the story's last seq when the seat's turn began (``None``:
    whichever turn it holds). Text for a turn that was skipped, or written for
    an older state of the story, is stale.
    """
    if state.ended or state.holder != AI_SEAT:
        return False
    return turn_seq is None or turn_seq == state.last_seq


def next_ai_attempt(attempt: int, max_regenerations: int) -> int | None:
    """The attempt after blocked ``attempt`` (0 is the first text), or ``None``: pass."""
    return attempt + 1 if attempt < max_regenerations else None


def regenerate_ai(state: SessionState, last_segment_by_ai: bool, now: float) -> SessionState:
    """A writer asks for the AI's last segment again: the seat takes the turn back.

    Only while the last segment is the AI's (so no later turn has added one)
    and the seat is not writing already. Its new text replaces that segment;
    then the turn moves on from the seat as after any AI segment.
    """
    _check_open(state)
    if state.holder == AI_SEAT:
        raise RuleViolation("aiBusy", "The AI narrator is writing already.")
    if not state.ai_seat or state.last_seq == 0 or not last_segment_by_ai:
        raise RuleViolation("nothingToRegenerate", "The last segment is not the AI narrator's.")
    return replace(state, holder=AI_SEAT, deadline=now + state.turn_seconds)


ADULT_TIER = "adult"


def remote_ai_allowed(members: Iterable[tuple[str, bool]]) -> bool:
    """May the room's text go to a third-party AI provider?

    ``members`` holds (age tier, AI scope consented) for every collaborator:
    adults always may; every other member needs the ``aiFeatures`` scope (a
    parent's consent, or their own above the age of digital consent).
    """
    return all(tier == ADULT_TIER or consented for tier, consented in members)


def tick(state: SessionState, now: float) -> SessionState:
    """Apply every deadline that has passed: skip a silent turn, expire a vote."""
    if state.holder is not None and state.deadline is not None and state.deadline <= now:
        state = _give_turn(state, next_seat(state, state.holder), now)
    vote = state.vote
    if vote is not None and vote.status == "open" and vote.expires_at <= now:
        state = replace(state, vote=replace(vote, status="expired"))
    return state


def with_last_seq(state: SessionState, last_seq: int) -> SessionState:
    """The state after learning the committed seq from the database."""
    return replace(state, last_seq=last_seq)


def next_deadline(state: SessionState) -> float | None:
    """The earliest moment :func:`tick` would change something."""
    times = []
    if state.holder is not None and state.deadline is not None:
        times.append(state.deadline)
    if state.vote is not None and state.vote.status == "open":
        times.append(state.vote.expires_at)
    return min(times) if times else None


# --- presence -------------------------------------------------------------------------


def join(state: SessionState, user: str, role: Role, now: float) -> SessionState:
    """One more socket of ``user`` joined."""
    sockets = dict(state.sockets)
    sockets[user] = sockets.get(user, 0) + 1
    roles = {**state.roles, user: role}
    roster = state.roster
    if is_writer(role) and user not in roster:
        roster = (*roster, user)
    state = replace(state, sockets=sockets, roles=roles, roster=roster)
    return _evaluate_vote(_ensure_holder(state, now), now)


def leave(state: SessionState, user: str, now: float) -> SessionState:
    """One socket of ``user`` left. A departed holder keeps the turn until its deadline."""
    count = state.sockets.get(user, 0)
    if count <= 0:
        return state
    sockets = dict(state.sockets)
    roles = dict(state.roles)
    if count == 1:
        del sockets[user]
        roles.pop(user, None)
    else:
        sockets[user] = count - 1
    return _evaluate_vote(replace(state, sockets=sockets, roles=roles), now)


def change_role(state: SessionState, user: str, role: Role | None, now: float) -> SessionState:
    """``user`` got a new role, or (``None``) was removed from the story."""
    roster = state.roster
    if not is_writer(role):
        roster = tuple(u for u in roster if u != user)
    elif user not in roster and user in state.present:
        roster = (*roster, user)
    sockets = dict(state.sockets)
    roles = dict(state.roles)
    if role is None:
        sockets.pop(user, None)
        roles.pop(user, None)
    elif user in sockets:
        roles[user] = role
    changed = replace(state, roster=roster, sockets=sockets, roles=roles)
    if changed.holder == user and not is_writer(role):
        # Keep the round-robin position: the seat after ``user`` in the old order.
        seat = next_seat(state, user)
        if seat == user or seat not in _cycle(changed):
            seat = next_seat(changed, None)
        changed = _give_turn(changed, seat, now)
    return _evaluate_vote(_ensure_holder(changed, now), now)


# --- votes ----------------------------------------------------------------------------


def start_vote(state: SessionState, user: str, vote_id: str, now: float) -> SessionState:
    """A present author proposes to end the story; their vote counts in favour."""
    _check_open(state)
    if user not in state.present_authors:
        raise RuleViolation("notPresent", "Only authors present in the story may start a vote.")
    if state.vote is not None and state.vote.status == "open":
        raise RuleViolation("voteInProgress", "A vote to end is already open.")
    vote = Vote(
        vote_id=vote_id,
        started_by=user,
        expires_at=now + state.vote_seconds,
        in_favor=frozenset({user}),
    )
    return _evaluate_vote(replace(state, vote=vote), now)


def cast_vote(
    state: SessionState, user: str, vote_id: str, in_favor: bool, now: float
) -> SessionState:
    """A present author votes on the open vote."""
    _check_open(state)
    vote = state.vote
    if vote is None or vote.vote_id != vote_id or vote.status != "open":
        raise RuleViolation("voteNotFound", "No open vote has this id.")
    if user not in state.present_authors:
        raise RuleViolation("notPresent", "Only authors present in the story may vote.")
    if user in vote.in_favor or user in vote.against:
        raise RuleViolation("alreadyVoted", "You already voted.")
    if in_favor:
        vote = replace(vote, in_favor=vote.in_favor | {user})
    else:
        vote = replace(vote, against=vote.against | {user})
    return _evaluate_vote(replace(state, vote=vote), now)


def vote_tally(state: SessionState) -> tuple[int, int, int]:
    """(in favour, against, present authors) counting only present authors."""
    authors = state.present_authors
    vote = state.vote
    if vote is None:
        return 0, 0, len(authors)
    return len(vote.in_favor & authors), len(vote.against & authors), len(authors)


def _evaluate_vote(state: SessionState, now: float) -> SessionState:
    """Pass with a strict majority of present authors; reject once that is impossible."""
    vote = state.vote
    if vote is None or vote.status != "open" or state.ended:
        return state
    yes, no, authors = vote_tally(state)
    if yes * 2 > authors:
        return end_story(replace(state, vote=replace(vote, status="passed")), "vote")
    if no * 2 >= authors:
        return replace(state, vote=replace(vote, status="rejected"))
    return state


def end_story(state: SessionState, reason: Literal["vote", "owner"] = "owner") -> SessionState:
    """The story is completed: nobody holds a turn, an open vote is closed."""
    if state.ended:
        return state
    vote = state.vote
    if vote is not None and vote.status == "open":
        vote = replace(vote, status="expired")
    return replace(state, ended=True, ended_reason=reason, holder=None, deadline=None, vote=vote)


# --- persistence shape ----------------------------------------------------------------


def turn_state_document(state: SessionState) -> dict[str, Any]:
    """What ``Story.turn_state`` stores so whose turn it is survives a restart."""
    document: dict[str, Any] = {
        "roster": list(state.roster),
        "holder": state.holder,
        "deadline": state.deadline,
    }
    if state.ended_reason is not None:
        document["endedReason"] = state.ended_reason
    return document


def restore(
    document: Mapping[str, Any],
    *,
    last_seq: int,
    ended: bool,
    turn_seconds: float,
    vote_seconds: float,
    ai_seat: bool,
) -> SessionState:
    """Rebuild the state an actor starts from (nobody present yet)."""
    roster = tuple(str(u) for u in document.get("roster") or () if isinstance(u, str))
    holder = document.get("holder")
    deadline = document.get("deadline")
    valid_holder = isinstance(holder, str) and (holder in roster or (ai_seat and holder == AI_SEAT))
    reason = document.get("endedReason")
    state = SessionState(
        turn_seconds=turn_seconds,
        vote_seconds=vote_seconds,
        ai_seat=ai_seat,
        roster=roster,
        last_seq=last_seq,
        ended=ended,
        ended_reason=(reason if reason in ("vote", "owner") else "owner") if ended else None,
    )
    if ended or not valid_holder or not isinstance(deadline, int | float):
        return state
    return replace(state, holder=holder, deadline=float(deadline))


# --- per-socket rate limit ------------------------------------------------------------


@dataclass(slots=True)
class TokenBucket:
    """``rate`` messages per second with bursts of ``burst``; ``now`` is monotonic time."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def allow(self, now: float) -> bool:
        """Take one token if there is one."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
