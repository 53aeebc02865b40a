"""What ``GET /tasks/{taskId}`` answers (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

TaskStatus = Literal["queued", "running", "done", "failed"]


class MediaTaskResult(
    msgspec.Struct, rename="camel", frozen=True, kw_only=True, tag_field="type", tag="media"
):
    """A finished media request: where to fetch the asset (never its storage key)."""

    asset_id: UUID
    seq: int | None
    """``null`` for a cover."""
    kind: str
    url: str
    """The authorized download route, ``/media/{assetId}``."""
    content_type: str
    duration_seconds: float | None
    provider: str
    model: str


class BookTaskResult(
    msgspec.Struct, rename="camel", frozen=True, kw_only=True, tag_field="type", tag="book"
):
    """A finished book build: where to fetch the file."""

    book_id: UUID
    size_bytes: int | None
    sha256: str | None
    download_path: str


class TaskOut(msgspec.Struct, rename="camel", frozen=True, kw_only=True, omit_defaults=True):
    """A background job as its requester sees it; ``result`` when done, ``error`` when failed."""

    task_id: UUID
    kind: str
    """``media:image``, ``media:audio``, ``media:video``, ``media:cover`` or ``book``."""
    status: TaskStatus
    story_id: UUID | None = None
    result: MediaTaskResult | BookTaskResult | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime
