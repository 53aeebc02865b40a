"""The TaskIQ task that builds a book and stores it.

It runs in ``storyhub worker`` processes (services mode) or in-process
(embedded mode). The build itself (seconds of CPU for a long story) runs in
a thread so an in-process broker never blocks the event loop. The book's row
(``DigitalBook``) and its job row (``Job``, what ``GET /tasks/{id}`` reads)
follow the task: building/running, then ready/done or failed with a sentence.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from taskiq import (
    Context,
    SimpleRetryMiddleware,
    SmartRetryMiddleware,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqState,
)

from storyhub.books.build import CONTENT_TYPES, build_book
from storyhub.books.loader import PseudonymSource, keyed_pseudonyms, load_manuscript
from storyhub.books.storage import page_size_of
from storyhub.books.tables import DigitalBook
from storyhub.jobs.tables import Job
from storyhub.lib.blobs import BlobStore, StorageUnavailable, build_blob_store
from storyhub.lib.broker import broker, task_settings
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import StoryhubError
from storyhub.sessions.task_notifier import task_notifier
from storyhub.settings import Settings, load_settings

log = logging.getLogger("storyhub.books.tasks")

BOOK_TASK_SECONDS: Final = task_settings.book_seconds
"""``STORYHUB_TASK_BOOK_SECONDS``; settings keep it below the redelivery time
(``STORYHUB_TASK_REDELIVERY_SECONDS``): a running build never reaches a second worker."""
MAX_ATTEMPTS: Final = 2
JOB_KIND: Final = "book"

CURRENT_CONTEXT: Context = TaskiqDepends()


class BookProgress(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A change in a build's state, for whoever tells the story's room and the requester."""

    book_id: str
    story_id: str
    format: str
    requested_by: str | None
    status: str
    """``building``, ``ready`` or ``failed``."""
    error: str | None = None


ProgressHook = Callable[[BookProgress], Awaitable[None]]


@dataclass
class BookRuntime:
    """What a build needs in one process: the blob store and the pseudonym source.

    ``on_progress`` (optional) is awaited at each state change; built from
    settings it sends a ``bookProgress`` event to the story's room.
    """

    blobs: BlobStore
    pseudonym_for: PseudonymSource
    on_progress: ProgressHook | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> BookRuntime:
        runtime = cls(
            blobs=build_blob_store(settings.s3, settings.data_dir),
            pseudonym_for=keyed_pseudonyms(FieldCipher(settings.secret_key)),
        )
        runtime.on_progress = runtime._tell_room
        return runtime

    async def _tell_room(self, progress: BookProgress) -> None:
        notifier = task_notifier()
        if notifier is None:
            return
        await notifier.book_progress(
            uuid.UUID(progress.story_id),
            book_id=progress.book_id,
            format=progress.format,
            status=progress.status,  # type: ignore[arg-type]
            requested_by=progress.requested_by,
            error=progress.error,
        )

    async def aclose(self) -> None:
        await self.blobs.aclose()


_runtime: BookRuntime | None = None


def install_book_runtime(runtime: BookRuntime | None) -> None:
    """Use ``runtime`` for builds in this process; ``None`` builds one from settings on use."""
    global _runtime
    _runtime = runtime


def book_runtime() -> BookRuntime:
    """This process's runtime; a worker builds it from the environment on first use."""
    global _runtime
    if _runtime is None:
        _runtime = BookRuntime.from_settings(load_settings())
    return _runtime


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_book_runtime(_: TaskiqState) -> None:
    """Close the S3 client when a worker stops."""
    global _runtime
    if _runtime is not None:
        await _runtime.aclose()
        _runtime = None


class BookResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What the task returns and the job row keeps."""

    ok: bool
    book_id: str
    size_bytes: int | None = None
    sha256: str | None = None
    error_code: str | None = None
    error: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


async def _mark(book_id: uuid.UUID, job_id: uuid.UUID | None, status: str) -> None:
    book_status = {"running": "building"}.get(status, status)
    await DigitalBook.update({DigitalBook.status: book_status}).where(DigitalBook.id == book_id)
    if job_id is not None:
        await Job.update({Job.status: status, Job.updated_at: _now()}).where(Job.id == job_id)


async def _finish(book_id: uuid.UUID, job_id: uuid.UUID | None, result: BookResult) -> None:
    values: dict[Any, Any] = {
        DigitalBook.status: "ready" if result.ok else "failed",
        DigitalBook.completed_at: _now(),
        DigitalBook.error: result.error,
    }
    if result.ok:
        values[DigitalBook.size_bytes] = result.size_bytes
    await DigitalBook.update(values).where(DigitalBook.id == book_id)
    if job_id is not None:
        job: dict[Any, Any] = {
            Job.status: "done" if result.ok else "failed",
            Job.updated_at: _now(),
        }
        if result.ok:
            job[Job.result] = msgspec.json.encode(result).decode()
        else:
            job[Job.error] = result.error
        await Job.update(job).where(Job.id == job_id)


async def build_and_store(runtime: BookRuntime, book_id: uuid.UUID) -> BookResult:
    """Build the book row ``book_id`` describes and store it under its key."""
    book = (
        await DigitalBook.select(
            DigitalBook.story, DigitalBook.format, DigitalBook.draft, DigitalBook.blob_key
        )
        .where(DigitalBook.id == book_id)
        .first()
    )
    if book is None or book["blob_key"] is None:
        raise StoryhubError("The book request no longer exists.", code="bookNotFound")
    manuscript = await load_manuscript(
        book["story"],
        blobs=runtime.blobs,
        pseudonym_for=runtime.pseudonym_for,
        draft=book["draft"],
    )
    page_size = page_size_of(book["blob_key"]) or "A5"
    data = await asyncio.to_thread(build_book, manuscript, book["format"], page_size)
    await runtime.blobs.put(book["blob_key"], data, CONTENT_TYPES[book["format"]])
    return BookResult(
        ok=True,
        book_id=str(book_id),
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


async def _notify(
    runtime: BookRuntime, book_id: uuid.UUID, status: str, error: str | None = None
) -> None:
    if runtime.on_progress is None:
        return
    row = (
        await DigitalBook.select(DigitalBook.story, DigitalBook.format, DigitalBook.requested_by)
        .where(DigitalBook.id == book_id)
        .first()
    )
    if row is None:
        return
    requester = row["requested_by"]
    progress = BookProgress(
        book_id=str(book_id),
        story_id=str(row["story"]),
        format=row["format"],
        requested_by=None if requester is None else str(requester),
        status=status,
        error=error,
    )
    try:
        await runtime.on_progress(progress)
    except Exception:
        # Telling clients is best effort: the rows already say how the build went.
        log.exception("book progress hook failed")


def _last_attempt(context: Context) -> bool:
    """True when no retry will follow a failure of this run."""
    retrying = (SimpleRetryMiddleware, SmartRetryMiddleware)
    if not any(isinstance(m, retrying) for m in context.broker.middlewares):
        return True  # nothing would run it again: report the failure now
    labels = context.message.labels
    return int(labels.get("_retries", 0)) + 1 >= int(labels.get("max_retries", MAX_ATTEMPTS))


@broker.task(
    task_name="storyhub.books.build",
    timeout=BOOK_TASK_SECONDS,
    retry_on_error=True,
    max_retries=MAX_ATTEMPTS,
)
async def build_book_task(
    book_id: str, job_id: str | None = None, context: Context = CURRENT_CONTEXT
) -> dict[str, Any]:
    """Build and store one book; the rows say how it went."""
    book = uuid.UUID(book_id)
    job = uuid.UUID(job_id) if job_id else None
    runtime = book_runtime()
    await _mark(book, job, "running")
    await _notify(runtime, book, "building")
    try:
        result = await build_and_store(runtime, book)
    except StorageUnavailable as exc:
        if not _last_attempt(context):
            log.warning("book build will be retried: %s", exc.message)
            raise
        result = BookResult(ok=False, book_id=book_id, error_code=exc.code, error=exc.message)
    except StoryhubError as exc:
        result = BookResult(ok=False, book_id=book_id, error_code=exc.code, error=exc.message)
    except Exception:
        log.exception("book build failed")
        result = BookResult(
            ok=False,
            book_id=book_id,
            error_code="internalError",
            error="The book could not be built; try again later.",
        )
    await _finish(book, job, result)
    await _notify(runtime, book, "ready" if result.ok else "failed", result.error)
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]
