"""Telling a story's room that media is ready, or that a request failed.

Through the process's task notifier (:mod:`storyhub.sessions.task_notifier`):
straight to the room in the API process, through Valkey from a worker.
Announcing is best effort: the rows (asset, job) already say how the request went.
"""

from __future__ import annotations

import logging
import uuid

from storyhub.media.generation import AssetRecord
from storyhub.media.links import media_path
from storyhub.sessions.task_notifier import task_notifier

log = logging.getLogger("storyhub.media.announce")


async def announce_ready(asset: AssetRecord) -> None:
    """``mediaReady {seq, kind, url}`` to the asset's story room."""
    try:
        notifier = task_notifier()
        if notifier is None:
            return
        await notifier.media_ready(
            asset.story_id,
            asset.seq,
            asset.kind,  # type: ignore[arg-type]
            media_path(asset.id),
        )
    except Exception:
        log.exception("mediaReady could not be announced")


async def announce_failed(
    story_id: uuid.UUID,
    seq: int | None,
    kind: str,
    *,
    code: str,
    message: str,
    task_id: str | None,
    requested_by: str | None,
) -> None:
    """``mediaFailed`` to the story's room (the requester is a collaborator in it)."""
    try:
        notifier = task_notifier()
        if notifier is None:
            return
        await notifier.media_failed(
            story_id,
            seq,
            kind,  # type: ignore[arg-type]
            code,
            message,
            task_id=task_id,
            requested_by=requested_by,
        )
    except Exception:
        log.exception("mediaFailed could not be announced")
