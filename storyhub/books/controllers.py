"""HTTP glue for books: parse, call :mod:`storyhub.books.service`, answer.

``POST /stories/{id}/books`` queues a build (202 with ``bookId`` and
``taskId``); ``GET /books/{id}`` reports its state; ``GET /books/{id}/download``
redirects to a short-lived presigned URL (S3) or streams the file (local
storage) — always after checking that the caller collaborates on the story.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.response import File, Redirect

from storyhub.accounts.auth import require_active
from storyhub.accounts.principal import Principal
from storyhub.books import service
from storyhub.books.schemas import BookAccepted, BookOut, BookRequest
from storyhub.books.tasks import book_runtime, build_book_task
from storyhub.lib.downloads import blob_download


def _caller(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


async def _enqueue(book_id: UUID, job_id: UUID) -> None:
    await build_book_task.kiq(str(book_id), job_id=str(job_id))


class BookController(Controller):
    """Digital books of a story: build, state, download."""

    path = "/"
    tags = ["books"]
    guards = [require_active]

    @post("/stories/{story_id:uuid}/books", status_code=202)
    async def request_book(
        self, request: Request[Any, Any, Any], story_id: UUID, data: JSONBody[BookRequest]
    ) -> BookAccepted:
        """Queue an EPUB or PDF build of the story (collaborators; drafts: the owner)."""
        return await service.request_book(_caller(request), story_id, data, _enqueue)

    @get("/books/{book_id:uuid}")
    async def get_book(self, request: Request[Any, Any, Any], book_id: UUID) -> BookOut:
        """A book's state and metadata, for the story's collaborators."""
        return await service.get_book(_caller(request), book_id)

    @get("/books/{book_id:uuid}/download", status_code=200)
    async def download_book(
        self, request: Request[Any, Any, Any], book_id: UUID
    ) -> File | Redirect:
        """The book's file: a redirect to a short-lived URL, or the bytes themselves."""
        found = await service.book_download(_caller(request), book_id)
        return await blob_download(
            book_runtime().blobs,
            found.key,
            filename=found.filename,
            content_type=found.content_type,
            disposition="attachment",
        )


ROUTE_HANDLERS = [BookController]
