"""Request and response bodies of the books API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from storyhub.books.build import BookFormat
from storyhub.books.pdf import PageSize

BookStatus = Literal["pending", "building", "ready", "failed"]


class BookRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """``POST /stories/{id}/books``: which book to build."""

    format: BookFormat
    page_size: PageSize | None = None
    """PDF only: ``A5`` (default) or ``letter``."""


class BookAccepted(msgspec.Struct, rename="camel", frozen=True):
    """The build was queued: poll ``GET /books/{bookId}`` or ``GET /tasks/{taskId}``."""

    book_id: UUID
    task_id: UUID


class BookOut(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One book and how its build went."""

    id: UUID
    story_id: UUID
    format: BookFormat
    page_size: PageSize | None
    status: BookStatus
    draft: bool
    size_bytes: int | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None
    download_path: str | None
    """``/books/{id}/download`` once the book is ready."""
