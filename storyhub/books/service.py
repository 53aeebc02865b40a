"""Books as the API sees them: request a build, read its state, find its file.

Every call is authorized against the story: a book id alone grants nothing.
A caller who may not see the story gets the same ``bookNotFound`` as for a
book that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final
from uuid import UUID

import msgspec

from storyhub.accounts.principal import Principal
from storyhub.books import policy
from storyhub.books.build import CONTENT_TYPES, BookFormat
from storyhub.books.schemas import BookAccepted, BookOut, BookRequest
from storyhub.books.storage import book_key, download_name, page_size_of
from storyhub.books.tables import DigitalBook
from storyhub.books.tasks import JOB_KIND
from storyhub.jobs.tables import Job
from storyhub.lib.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from storyhub.stories.access import load_access, writing
from storyhub.stories.tables import Story

Enqueue = Callable[[UUID, UUID], Awaitable[None]]
"""Queues the build of (book id, job id)."""

_BOOK_COLUMNS: Final = (
    DigitalBook.id,
    DigitalBook.story,
    DigitalBook.format,
    DigitalBook.status,
    DigitalBook.draft,
    DigitalBook.blob_key,
    DigitalBook.size_bytes,
    DigitalBook.error,
    DigitalBook.created_at,
    DigitalBook.completed_at,
)


def book_not_found() -> NotFound:
    return NotFound("There is no such book, or you cannot see it.", code="bookNotFound")


def _book_out(row: dict[str, Any]) -> BookOut:
    ready = row["status"] == "ready"
    return BookOut(
        id=row["id"],
        story_id=row["story"],
        format=row["format"],
        page_size=page_size_of(row["blob_key"] or ""),
        status=row["status"],
        draft=row["draft"],
        size_bytes=row["size_bytes"],
        error=row["error"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
        download_path=f"/books/{row['id']}/download" if ready else None,
    )


async def request_book(
    principal: Principal, story_id: UUID, request: BookRequest, enqueue: Enqueue
) -> BookAccepted:
    """Record a book and its job, then queue the build; nothing is written if refused."""
    if request.format == "epub" and request.page_size is not None:
        raise InvalidInput("pageSize only applies to PDF books.", field="pageSize")
    access = await load_access(principal, story_id)
    decision = policy.build_decision(access.role, access.story["status"])
    if not decision.allowed:
        assert decision.denial is not None
        error = Conflict if decision.denial.code == policy.NOT_COMPLETED else Forbidden
        raise error(decision.denial.message, code=decision.denial.code)
    book = DigitalBook(
        story=story_id, requested_by=principal.id, format=request.format, draft=decision.draft
    )
    page_size = request.page_size or ("A5" if request.format == "pdf" else None)
    book.blob_key = book_key(story_id, book.id, request.format, page_size)
    job = Job(owner=principal.id, story_id=story_id, kind=JOB_KIND)
    async with writing():
        await book.save()
        await job.save()
    try:
        await enqueue(book.id, job.id)
    except Exception as exc:
        message = "The build queue cannot be reached; try again later."
        await DigitalBook.update({DigitalBook.status: "failed", DigitalBook.error: message}).where(
            DigitalBook.id == book.id
        )
        await Job.update({Job.status: "failed", Job.error: message}).where(Job.id == job.id)
        raise Unavailable(message, code="queueUnavailable") from exc
    return BookAccepted(book_id=book.id, task_id=job.id)


async def _visible_book(principal: Principal, book_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await DigitalBook.select(*_BOOK_COLUMNS).where(DigitalBook.id == book_id).first()
    )
    if row is None:
        raise book_not_found()
    try:
        access = await load_access(principal, row["story"])
    except NotFound:
        raise book_not_found() from None
    if not policy.can_download(access.role):
        raise book_not_found()
    return row


async def get_book(principal: Principal, book_id: UUID) -> BookOut:
    """A book's state, for the story's collaborators."""
    return _book_out(await _visible_book(principal, book_id))


class Download(msgspec.Struct, frozen=True):
    """Where a ready book's bytes are and what to call them."""

    key: str
    filename: str
    content_type: str


async def book_download(principal: Principal, book_id: UUID) -> Download:
    """The stored file of a ready book; ``bookNotReady`` (409) before that."""
    row = await _visible_book(principal, book_id)
    if row["status"] != "ready" or row["blob_key"] is None:
        raise Conflict("The book is not ready yet.", code="bookNotReady", bookStatus=row["status"])
    story = await Story.select(Story.title).where(Story.id == row["story"]).first()
    book_format: BookFormat = row["format"]
    title = story["title"] if story else "book"
    return Download(
        key=row["blob_key"],
        filename=download_name(title, book_format, draft=row["draft"]),
        content_type=CONTENT_TYPES[book_format],
    )
