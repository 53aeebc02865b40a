"""Media as the API sees it: request generation, find an asset's file, report usage.

Requests
    The story's writers (owner, authors, editors) may ask for a segment's
    ``image``, ``audio`` or ``video`` and for the story's ``cover``; viewers
    are refused (``notAllowed``), strangers learn nothing (``storyNotFound``).
    Whose consent counts is the content's author: the segment's author, or
    the story's creator for the cover and for the AI narrator's segments. A
    child whose parent did not grant ``mediaGeneration`` gets
    ``consentRequired``; without ``aiFeatures`` the work stays on storyhub's
    offline providers (``allow_remote=False``, decided here, obeyed by the
    worker). Every accepted request is a ``jobs`` row of kind
    ``media:<kind>``; quotas (:mod:`storyhub.media.quotas`) are counted from
    those rows.

Downloads
    An asset id alone grants nothing: the caller must collaborate on the
    asset's story (viewers included), otherwise ``mediaNotFound``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import msgspec

from storyhub.accounts import consent
from storyhub.accounts.principal import Principal
from storyhub.jobs.tables import Job
from storyhub.lib.errors import Forbidden, NotFound, RateLimited, Unavailable
from storyhub.media.generation import COVER_SEQ
from storyhub.media.quotas import (
    JOB_KIND_PREFIX,
    WINDOW,
    QuotaLimits,
    count_by_kind,
    job_kind,
    quota_denial,
    window_start,
)
from storyhub.media.schemas import MediaAccepted, MediaUsage
from storyhub.media.tables import MediaAsset
from storyhub.settings import Settings
from storyhub.stories import policy
from storyhub.stories.access import StoryAccess, load_access, utc_now, writing
from storyhub.stories.tables import Segment

COVER_KIND: Final = "cover"


class MediaJob(msgspec.Struct, frozen=True, kw_only=True):
    """What the task needs, decided in the API process."""

    job_id: UUID
    story_id: UUID
    seq: int | None
    kind: str
    allow_remote: bool
    requested_by: UUID


Enqueue = Callable[[MediaJob], Awaitable[None]]


def limits_from(settings: Settings) -> QuotaLimits:
    return QuotaLimits(
        per_user=settings.ai.media_quota_per_user_per_day,
        per_story=settings.ai.media_quota_per_story_per_day,
    )


def media_not_found() -> NotFound:
    return NotFound("There is no such media, or you cannot see it.", code="mediaNotFound")


def segment_not_found(seq: int) -> NotFound:
    return NotFound(f"Segment {seq} does not exist in this story.", code="segmentNotFound")


async def _content_author(access: StoryAccess, story_id: UUID, seq: int | None) -> UUID:
    """Whose consent governs media made from the segment (or the cover)."""
    creator: UUID = access.story["creator"]
    if seq is None:
        return creator
    row = (
        await Segment.select(Segment.author)
        .where((Segment.story == story_id) & (Segment.seq == seq))
        .first()
    )
    if row is None or seq == COVER_SEQ:  # segments count from 1; 0 is the cover's row
        raise segment_not_found(seq)
    author: UUID | None = row["author"]
    return creator if author is None else author


async def _request_times(condition: Any, since: datetime) -> list[datetime]:
    rows = await Job.select(Job.created_at).where(
        condition & Job.kind.like(f"{JOB_KIND_PREFIX}%") & (Job.created_at > since)
    )
    return [row["created_at"] for row in rows]


async def request_media(
    principal: Principal,
    story_id: UUID,
    seq: int | None,
    kind: str,
    limits: QuotaLimits,
    enqueue: Enqueue,
) -> MediaAccepted:
    """Record a media job and queue it; nothing is written when refused.

    ``seq=None`` with ``kind="cover"`` asks for the story's cover art.
    """
    access = await load_access(principal, story_id)
    if not policy.can_write(access.role):
        raise Forbidden(
            "Only the story's owner, authors and editors can ask for media.", code="notAllowed"
        )
    subject = await _content_author(access, story_id, seq)
    if not await consent.may_use(subject, "mediaGeneration"):
        raise Forbidden(
            "A parent has not allowed media to be made from this child's writing.",
            code="consentRequired",
        )
    allow_remote = await consent.may_use(subject, "mediaGenerationByAiProvider")
    job = Job(owner=principal.id, story_id=story_id, kind=job_kind(kind))
    # Counting and inserting in one writing transaction: on SQLite it holds the
    # write lock, so two requests cannot both take the last slot; on PostgreSQL
    # a race can let one extra request through, which a quota tolerates.
    async with writing():
        now = utc_now()
        since = window_start(now)
        denial = quota_denial(
            await _request_times(Job.owner == principal.id, since),
            await _request_times(Job.story_id == story_id, since),
            limits,
            now,
        )
        if denial is not None:
            raise RateLimited(
                denial.message,
                code="quotaExceeded",
                scope=denial.scope,
                limit=denial.limit,
                retryAfter=denial.retry_after_seconds,
            )
        await job.save()
    try:
        await enqueue(
            MediaJob(
                job_id=job.id,
                story_id=story_id,
                seq=seq,
                kind=kind,
                allow_remote=allow_remote,
                requested_by=principal.id,
            )
        )
    except Exception as exc:
        message = "The media queue cannot be reached; try again later."
        await Job.update({Job.status: "failed", Job.error: message}).where(Job.id == job.id)
        raise Unavailable(message, code="queueUnavailable") from exc
    return MediaAccepted(task_id=job.id)


class MediaDownload(msgspec.Struct, frozen=True):
    """Where an asset's bytes are and what to call them."""

    key: str
    filename: str
    content_type: str


def download_name(seq: int | None, kind: str, key: str) -> str:
    """``segment-3-image.png``, ``cover.png``: the extension is the stored one."""
    extension = key.rsplit(".", 1)[-1] if "." in key else "bin"
    stem = COVER_KIND if kind == COVER_KIND or seq is None else f"segment-{seq}-{kind}"
    return f"{stem}.{extension}"


async def media_download(principal: Principal, asset_id: UUID) -> MediaDownload:
    """The stored file of an asset, for the story's collaborators only."""
    row = (
        await MediaAsset.select(
            MediaAsset.story,
            MediaAsset.seq,
            MediaAsset.kind,
            MediaAsset.blob_key,
            MediaAsset.content_type,
        )
        .where(MediaAsset.id == asset_id)
        .first()
    )
    if row is None:
        raise media_not_found()
    try:
        await load_access(principal, row["story"])
    except NotFound:
        raise media_not_found() from None
    seq = None if row["kind"] == COVER_KIND else row["seq"]
    return MediaDownload(
        key=row["blob_key"],
        filename=download_name(seq, row["kind"], row["blob_key"]),
        content_type=row["content_type"],
    )


def _usage(kinds: Sequence[str], times: Sequence[datetime], limits: QuotaLimits) -> MediaUsage:
    used = len(times)
    return MediaUsage(
        window_hours=int(WINDOW.total_seconds() // 3600),
        used=used,
        limit=limits.per_user,
        remaining=max(0, limits.per_user - used),
        per_story_limit=limits.per_story,
        by_kind=count_by_kind(kinds),
        next_slot_at=min(times) + WINDOW if times else None,
    )


async def usage(principal: Principal, limits: QuotaLimits) -> MediaUsage:
    """The caller's media requests in the last 24 hours, by kind, and the limits."""
    since = window_start(utc_now())
    rows = await Job.select(Job.kind, Job.created_at).where(
        (Job.owner == principal.id)
        & Job.kind.like(f"{JOB_KIND_PREFIX}%")
        & (Job.created_at > since)
    )
    return _usage([r["kind"] for r in rows], [r["created_at"] for r in rows], limits)
