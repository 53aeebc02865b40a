"""Request and response bodies of the stories API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from storyhub.stories.policy import AgeRating, StoredRole, StoryRole, StoryStatus, Visibility

TITLE_MAX = 200
PREMISE_MAX = 4000
TURN_SECONDS_MIN, TURN_SECONDS_MAX, TURN_SECONDS_DEFAULT = 10, 3600, 120
SEGMENT_LENGTH_MIN, SEGMENT_LENGTH_MAX, SEGMENT_LENGTH_DEFAULT = 20, 4000, 1000
EMAIL_MAX = 320
SEQ_MAX = 2**31 - 1
"""Largest segment number: ``segments.seq`` is a 32-bit integer on PostgreSQL. Inputs
that name a seq are bounded by it, so a huge number is a 400, not a driver error."""
ROW_ID_MAX = 2**63 - 1
"""Largest ``BigSerial`` id (chat messages): SQLite's and PostgreSQL's 64-bit integer."""

Title = Annotated[str, Meta(min_length=1, max_length=TITLE_MAX)]
Premise = Annotated[str, Meta(min_length=1, max_length=PREMISE_MAX)]
TurnSeconds = Annotated[int, Meta(ge=TURN_SECONDS_MIN, le=TURN_SECONDS_MAX)]
SegmentLength = Annotated[int, Meta(ge=SEGMENT_LENGTH_MIN, le=SEGMENT_LENGTH_MAX)]
Email = Annotated[str, Meta(min_length=3, max_length=EMAIL_MAX)]


class Input(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """Base of every request body: camelCase, unknown fields refused."""


class Output(msgspec.Struct, rename="camel"):
    """Base of every response body."""


# --- stories -------------------------------------------------------------------


class StoryCreate(Input, kw_only=True, frozen=True):
    title: Title
    premise: Premise
    age_rating: AgeRating
    ai_narrator: bool = False
    turn_seconds: TurnSeconds = TURN_SECONDS_DEFAULT
    max_segment_length: SegmentLength = SEGMENT_LENGTH_DEFAULT
    visibility: Visibility | None = None
    """``None``: the default for the creator's age tier (private)."""


class StoryPatch(Input, kw_only=True, frozen=True):
    """Only the fields present change; ``null`` is not a value for any of them."""

    title: Title | UnsetType = UNSET
    premise: Premise | UnsetType = UNSET
    age_rating: AgeRating | UnsetType = UNSET
    ai_narrator: bool | UnsetType = UNSET
    turn_seconds: TurnSeconds | UnsetType = UNSET
    max_segment_length: SegmentLength | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET


class StorySettings(msgspec.Struct, rename="camel", kw_only=True):
    """What ``Story.settings`` holds (JSON, camelCase like the API)."""

    ai_narrator: bool = False
    turn_seconds: int = TURN_SECONDS_DEFAULT
    max_segment_length: int = SEGMENT_LENGTH_DEFAULT


class StoryOut(Output, kw_only=True):
    id: UUID
    title: str
    premise: str
    age_rating: AgeRating
    status: StoryStatus
    creator_id: UUID
    ai_narrator: bool
    turn_seconds: int
    max_segment_length: int
    visibility: Visibility
    cover_art_url: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    role: StoryRole
    """The caller's role on this story."""


class StoryPage(Output):
    items: list[StoryOut]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


# --- collaborators -------------------------------------------------------------


class CollaboratorInvite(Input, kw_only=True, frozen=True):
    """Exactly one of ``userId`` and ``email``."""

    role: StoredRole
    user_id: UUID | None = None
    email: Email | None = None


class CollaboratorRoleChange(Input, frozen=True):
    role: StoredRole


class CollaboratorOut(Output, kw_only=True):
    """A collaborator as other collaborators see them: never an email or an age."""

    user_id: UUID
    display_name: str
    role: StoryRole
    joined_at: datetime


class CollaboratorList(Output):
    items: list[CollaboratorOut]


# --- segments and chat ---------------------------------------------------------


class SegmentOut(Output, kw_only=True):
    seq: int
    author_id: UUID | None
    """``null`` for the AI narrator."""
    author_name: str
    content: str
    created_at: datetime
    image_url: str | None
    audio_url: str | None
    video_url: str | None
    visual_effects: Any | None


class SegmentPage(Output):
    items: list[SegmentOut]
    next_after_seq: int | None
    """Pass as ``afterSeq`` for the next page; ``null`` when nothing more is stored yet."""


class ChatMessageOut(Output, kw_only=True):
    id: int
    author_id: UUID | None
    author_name: str
    content: str
    created_at: datetime


class ChatPage(Output):
    items: list[ChatMessageOut]
    next_after_id: int | None


# --- WebSocket tickets ---------------------------------------------------------


class WsTicketOut(Output):
    ticket: str
    expires_in: int
    """Seconds until the ticket stops working; it works once."""
