"""Server events built from the session state and stored records (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID

from storyhub.sessions import rules
from storyhub.sessions.persistence import ChatRecord, SegmentRecord
from storyhub.sessions.protocol import (
    ChatMessageReceived,
    ChatView,
    NewTurn,
    Presence,
    PresentUser,
    SegmentView,
    StoryUpdated,
    TurnReason,
    VoteStarted,
    VoteUpdated,
)


def seat_user(seat: str | None) -> UUID | None:
    """The user holding ``seat``; ``None`` for nobody and for the AI seat."""
    return None if seat is None or seat == rules.AI_SEAT else UUID(seat)


def when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def story_updated(
    record: SegmentRecord, *, replay: bool = False, revised: bool = False
) -> StoryUpdated:
    return StoryUpdated(
        segment=SegmentView(
            seq=record.seq,
            author_id=record.author_id,
            content=record.content,
            created_at=record.created_at,
            image_url=record.image_url,
            audio_url=record.audio_url,
            video_url=record.video_url,
            revision=record.revision,
        ),
        replay=replay,
        revised=revised,
    )


def chat_received(record: ChatRecord, display_name: str) -> ChatMessageReceived:
    return ChatMessageReceived(
        message=ChatView(
            id=record.id,
            author_id=record.author_id,
            display_name=display_name,
            content=record.content,
            created_at=record.created_at,
        )
    )


def presence(
    state: rules.SessionState, names: Mapping[UUID, str], roles: Mapping[UUID, str]
) -> Presence:
    """Everyone present, each user once."""
    users = []
    for seat in sorted(state.present):
        user = UUID(seat)
        users.append(
            PresentUser(
                user_id=user,
                display_name=names.get(user, ""),
                role=roles.get(user, "viewer"),  # type: ignore[arg-type]
            )
        )
    return Presence(users=users)


def new_turn(state: rules.SessionState, reason: TurnReason, previous: str | None = None) -> NewTurn:
    return NewTurn(
        user_id=seat_user(state.holder),
        deadline=when(state.deadline),
        reason="storyEnded" if state.ended else reason,
        previous_user_id=seat_user(previous),
        ai_seat=state.holder == rules.AI_SEAT,
    )


def vote_started(state: rules.SessionState, vote: rules.Vote) -> VoteStarted:
    yes, no, authors = rules.vote_tally(state)
    return VoteStarted(
        vote_id=vote.vote_id,
        started_by=UUID(vote.started_by),
        expires_at=datetime.fromtimestamp(vote.expires_at, UTC),
        in_favor=yes,
        against=no,
        present_authors=authors,
    )


def vote_updated(state: rules.SessionState, vote: rules.Vote) -> VoteUpdated:
    yes, no, authors = rules.vote_tally(state)
    return VoteUpdated(
        vote_id=vote.vote_id,
        status=vote.status,
        in_favor=yes,
        against=no,
        present_authors=authors,
    )
