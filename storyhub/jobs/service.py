"""Reading a background job (``GET /tasks/{taskId}``) as its requester.

Who may read a task: the user who asked for it (the job's owner), and only
while they can still see its story. Other collaborators learn about the work
from the room's events (``mediaReady``, ``mediaFailed``, ``bookProgress``);
everyone else gets ``taskNotFound``, the same answer as for an id that does
not exist. The stored result is projected per kind so that nothing internal
(a storage key, say) reaches the client.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from storyhub.accounts.principal import Principal
from storyhub.jobs.schemas import BookTaskResult, MediaTaskResult, TaskOut
from storyhub.jobs.tables import Job
from storyhub.lib.errors import NotFound
from storyhub.media.links import media_path
from storyhub.media.quotas import media_kind_of
from storyhub.stories.access import decode_json, load_access


def task_not_found() -> NotFound:
    return NotFound("There is no such task, or you cannot see it.", code="taskNotFound")


class _StoredAsset(msgspec.Struct, rename="camel"):
    id: UUID
    seq: int | None
    kind: str
    content_type: str
    provider: str
    model: str
    duration_seconds: float | None = None


class _StoredMediaOutcome(msgspec.Struct, rename="camel"):
    ok: bool
    asset: _StoredAsset | None = None


class _StoredBookResult(msgspec.Struct, rename="camel"):
    ok: bool
    book_id: UUID
    size_bytes: int | None = None
    sha256: str | None = None


def project_result(kind: str, stored: Any) -> MediaTaskResult | BookTaskResult | None:
    """What a client may see of a job's stored result (``None`` when nothing applies)."""
    if stored is None:
        return None
    try:
        if media_kind_of(kind) is not None:
            outcome = msgspec.convert(stored, _StoredMediaOutcome, strict=False)
            asset = outcome.asset
            if not outcome.ok or asset is None:
                return None
            return MediaTaskResult(
                asset_id=asset.id,
                seq=asset.seq,
                kind=asset.kind,
                url=media_path(asset.id),
                content_type=asset.content_type,
                duration_seconds=asset.duration_seconds,
                provider=asset.provider,
                model=asset.model,
            )
        if kind == "book":
            book = msgspec.convert(stored, _StoredBookResult, strict=False)
            if not book.ok:
                return None
            return BookTaskResult(
                book_id=book.book_id,
                size_bytes=book.size_bytes,
                sha256=book.sha256,
                download_path=f"/books/{book.book_id}/download",
            )
    except msgspec.ValidationError:
        return None  # a result written by an older version: the status still tells
    return None


async def get_task(principal: Principal, task_id: UUID) -> TaskOut:
    """The job ``task_id`` for its owner; ``taskNotFound`` for anyone else."""
    row: dict[str, Any] | None = (
        await Job.select(
            Job.id,
            Job.owner,
            Job.story_id,
            Job.kind,
            Job.status,
            Job.result,
            Job.error,
            Job.created_at,
            Job.updated_at,
        )
        .where(Job.id == task_id)
        .first()
    )
    if row is None or row["owner"] != principal.id:
        raise task_not_found()
    if row["story_id"] is not None:
        try:
            await load_access(principal, row["story_id"])
        except NotFound:
            raise task_not_found() from None
    status = row["status"] if row["status"] in ("queued", "running", "done", "failed") else "queued"
    return TaskOut(
        task_id=row["id"],
        kind=row["kind"],
        status=status,
        story_id=row["story_id"],
        result=project_result(row["kind"], decode_json(row["result"]))
        if status == "done"
        else None,
        error=row["error"] if status == "failed" else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
