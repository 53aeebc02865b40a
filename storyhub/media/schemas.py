"""Request and response bodies of the media API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

SegmentMediaKind = Literal["image", "audio", "video"]
"""What a segment can have made for it; cover art has its own route."""


class MediaRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """``POST /stories/{id}/segments/{seq}/media``: which media to make."""

    kind: SegmentMediaKind


class MediaAccepted(msgspec.Struct, rename="camel", frozen=True):
    """The request was queued: watch the room for ``mediaReady`` or poll ``GET /tasks/{taskId}``."""

    task_id: UUID


class MediaUsage(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The caller's media requests in the last 24 hours, and the limits."""

    window_hours: int
    used: int
    """Requests made in the window (every request counts, repeated or failed ones too)."""
    limit: int
    """The caller's limit per 24 hours."""
    remaining: int
    per_story_limit: int
    """What all collaborators of one story may request together per 24 hours."""
    by_kind: dict[str, int]
    """``image``, ``audio``, ``video``, ``cover``: requests of each kind in the window."""
    next_slot_at: datetime | None
    """When the oldest request in the window stops counting; ``null`` without any."""
