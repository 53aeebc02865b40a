"""Generating a story's media and the AI narrator's text, outside any request.

The functions here are what the TaskIQ tasks (``storyhub.media.tasks``) run;
they take a :class:`MediaRuntime` (providers + blob store) so tests and the
embedded app can call them directly.

Idempotency: one :class:`MediaAsset` per (story, seq, kind) and revision of
the segment (an AI segment that was written again gets media of its own). A
task that finds the asset returns it; two tasks that race (a redelivered
message while the first worker was killed after the upload) both upload, but
the database's unique index on (story, seq, kind, revision) lets one insert
win and the loser deletes its blob and returns the winner's asset. A cover
belongs to no segment; its row stores seq 0 (:data:`COVER_SEQ`; segments
count from 1) and revision 0 because NULL is never equal to NULL in a unique
index, so the same index guards covers too.
Callers and results say ``seq=None`` for a cover.

Safety: every prompt an image or video provider receives (a segment's text,
a cover's title and premise, the caption drawn on it) passes the safety
filter at the story's room level first (:meth:`MediaRuntime.prompt_filter`).
A blocked prompt ends the work with ``contentBlocked`` before anything is
sent or stored (the filter queues it for moderators); a redacted one is what
is sent and what the asset's ``prompt`` keeps.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec

from storyhub.lib.blobs import BlobStore, build_blob_store
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import InvalidInput, NotFound, is_unique_violation
from storyhub.media.keys import media_key
from storyhub.media.prompting import story_memory
from storyhub.media.providers.base import (
    AgeRating,
    ImageRequest,
    MediaResult,
    SpeechRequest,
    TextRequest,
    TextResult,
    VideoRequest,
)
from storyhub.media.registry import MediaProviders, build_providers
from storyhub.media.tables import MediaAsset
from storyhub.safety.moderation import ModerationQueue
from storyhub.safety.pipeline import SafetyPipeline, build_pipeline
from storyhub.safety.room_filter import SafetyContentFilter
from storyhub.sessions.hooks import ContentBlocked, ContentContext, ContentFilter, screen
from storyhub.settings import Settings
from storyhub.stories import memory_service
from storyhub.stories.tables import Segment, Story

AssetKind = Literal["image", "audio", "video", "cover"]
ASSET_KINDS: tuple[AssetKind, ...] = ("image", "audio", "video", "cover")
SEGMENT_IMAGE = (1024, 576)
COVER_IMAGE = (1024, 1536)
COVER_SEQ = 0
"""The seq a cover's row stores (see the module docstring)."""
RECENT_SEGMENTS = 8
"""How many of the last segments the narrator reads."""


@dataclass
class MediaRuntime:
    """What generation needs in one process: the providers and the blob store."""

    settings: Settings
    providers: MediaProviders
    blobs: BlobStore
    local: MediaProviders | None = None
    """Offline providers for content that must not leave storyhub; built on first use."""
    content_filter: ContentFilter | None = None
    """Screens image and video prompts; built on first use (:meth:`prompt_filter`)
    unless given (tests, or an app that already has one)."""
    _pipeline: SafetyPipeline | None = field(default=None, init=False, repr=False)
    _filter_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaRuntime:
        """Providers and storage as ``settings`` select them (nothing connects yet)."""
        return cls(
            settings=settings,
            providers=build_providers(settings),
            blobs=build_blob_store(settings.s3, settings.data_dir),
        )

    def providers_for(self, *, allow_remote: bool) -> MediaProviders:
        """The configured providers, or offline ones when nothing may go to a third party."""
        if allow_remote or self.providers.client is None:
            return self.providers
        if self.local is None:
            self.local = build_providers(self.settings, allow_remote=False)
        return self.local

    async def prompt_filter(self) -> ContentFilter:
        """The safety filter for prompts: built once per process, on first use.

        Loading the classifier takes about a second, so it happens in a thread
        (the worker's loop keeps serving other tasks) and only once, however
        many tasks ask at the same time.
        """
        if self.content_filter is None:
            async with self._filter_lock:
                if self.content_filter is None:
                    pipeline = build_pipeline(self.settings)
                    try:
                        await asyncio.to_thread(pipeline.warm_up)
                    except BaseException:
                        await pipeline.aclose()
                        raise
                    self._pipeline = pipeline
                    queue = ModerationQueue(FieldCipher(self.settings.secret_key))
                    self.content_filter = SafetyContentFilter(pipeline, queue)
        return self.content_filter

    async def aclose(self) -> None:
        """Close the SDK and S3 clients (and the filter's moderation client, if built here)."""
        if self._pipeline is not None:
            await self._pipeline.aclose()
            self._pipeline = None
            self.content_filter = None
        await self.providers.aclose()
        if self.local is not None:
            await self.local.aclose()
        await self.blobs.aclose()


class AssetRecord(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A stored asset as tasks report it (and as ``mediaReady`` can carry it)."""

    id: uuid.UUID
    story_id: uuid.UUID
    seq: int | None
    kind: str
    content_type: str
    blob_key: str
    provider: str
    model: str
    duration_seconds: float | None
    created_at: datetime
    revision: int = 0
    """The segment's revision the asset was made from (0 for a cover)."""


_ASSET_COLUMNS = (
    MediaAsset.id,
    MediaAsset.story,
    MediaAsset.seq,
    MediaAsset.kind,
    MediaAsset.content_type,
    MediaAsset.blob_key,
    MediaAsset.provider,
    MediaAsset.model,
    MediaAsset.duration_seconds,
    MediaAsset.created_at,
    MediaAsset.revision,
)


def _record(row: dict[str, Any]) -> AssetRecord:
    return AssetRecord(
        id=row["id"],
        story_id=row["story"],
        seq=None if row["kind"] == "cover" else row["seq"],
        kind=row["kind"],
        content_type=row["content_type"],
        blob_key=row["blob_key"],
        provider=row["provider"],
        model=row["model"],
        duration_seconds=row["duration_seconds"],
        created_at=row["created_at"],
        revision=row["revision"],
    )


def _stored_seq(seq: int | None) -> int:
    return COVER_SEQ if seq is None else seq


async def find_asset(
    story_id: uuid.UUID, seq: int | None, kind: str, revision: int | None = None
) -> AssetRecord | None:
    """The stored asset for (story, seq, kind) (``seq=None`` for the cover), if any.

    ``revision`` names the segment revision; by default the segment's current
    one, so an asset made from text that was written again is not found.
    """
    if revision is None:
        revision = 0 if seq is None else await _current_revision(story_id, seq)
    row = (
        await MediaAsset.select(*_ASSET_COLUMNS)
        .where(
            (MediaAsset.story == story_id)
            & (MediaAsset.seq == _stored_seq(seq))
            & (MediaAsset.kind == kind)
            & (MediaAsset.revision == revision)
        )
        .first()
    )
    return None if row is None else _record(row)


async def _current_revision(story_id: uuid.UUID, seq: int) -> int:
    row = (
        await Segment.select(Segment.revision)
        .where((Segment.story == story_id) & (Segment.seq == seq))
        .first()
    )
    return 0 if row is None else int(row["revision"])


def caption_for(text: str, limit: int = 120) -> str:
    """The first sentence of ``text``, shortened to ``limit`` characters."""
    first = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


class _StoryFacts(msgspec.Struct, frozen=True):
    title: str
    premise: str
    age_rating: AgeRating


async def _story(story_id: uuid.UUID) -> _StoryFacts:
    row = (
        await Story.select(Story.title, Story.premise, Story.age_rating)
        .where(Story.id == story_id)
        .first()
    )
    if row is None:
        raise NotFound("The story does not exist.", code="storyNotFound")
    rating: AgeRating = "allAges"
    if row["age_rating"] in ("teen", "mature"):
        rating = row["age_rating"]
    return _StoryFacts(title=row["title"], premise=row["premise"], age_rating=rating)


async def _segment_text(story_id: uuid.UUID, seq: int) -> tuple[str, int]:
    """The segment's text and its revision, read together."""
    row = (
        await Segment.select(Segment.content, Segment.revision)
        .where((Segment.story == story_id) & (Segment.seq == seq))
        .first()
    )
    if row is None:
        raise NotFound(f"Segment {seq} does not exist in this story.", code="segmentNotFound")
    return str(row["content"]), int(row["revision"])


def _check_target(seq: int | None, kind: str) -> None:
    if kind not in ASSET_KINDS:
        raise InvalidInput(
            f"{kind!r} is not a media kind; use image, audio, video or cover.",
            code="invalidMediaKind",
        )
    if (kind == "cover") != (seq is None):
        raise InvalidInput(
            "Cover art belongs to the story (no segment); other media to one segment.",
            code="invalidMediaTarget",
        )


PROMPT_BLOCKED = "The safety filter blocked this picture's prompt for this story."


async def _screened_prompt(
    runtime: MediaRuntime,
    story_id: uuid.UUID,
    story: _StoryFacts,
    text: str,
    *,
    allow_remote: bool,
) -> str:
    """``text`` as a provider may receive it and the asset may keep it (maybe redacted).

    Raises ``ContentBlocked`` (final, no retry) when the filter blocks it at the
    story's room level; the filter has queued it for moderators (no author:
    storyhub wrote the prompt). Without ``allow_remote`` the text is not sent
    to a moderation service either.
    """
    content_filter = await runtime.prompt_filter()
    context = ContentContext(
        story_id=story_id,
        author_id=None,
        age_rating=story.age_rating,
        kind="aiImagePrompt",
        allow_remote=allow_remote,
    )
    try:
        return await screen(content_filter, text, context)
    except ContentBlocked as blocked:
        raise ContentBlocked(PROMPT_BLOCKED, **blocked.extra) from None


async def _produce(
    runtime: MediaRuntime,
    story_id: uuid.UUID,
    seq: int | None,
    kind: str,
    *,
    allow_remote: bool,
    requested_by: uuid.UUID | None,
) -> tuple[str, MediaResult, int]:
    """The prompt used, the generated media (not yet stored) and the segment
    revision it was made from (0 for a cover)."""
    story = await _story(story_id)
    providers = runtime.providers_for(allow_remote=allow_remote)
    if kind == "cover":
        prompt = await _screened_prompt(
            runtime, story_id, story, f"{story.title}. {story.premise}", allow_remote=allow_remote
        )
        # The caption is drawn on the cover: it passes on its own.
        caption = await _screened_prompt(
            runtime, story_id, story, story.title, allow_remote=allow_remote
        )
        width, height = COVER_IMAGE
        result = await providers.image.illustrate(
            ImageRequest(
                prompt=prompt,
                caption=caption,
                width=width,
                height=height,
                age_rating=story.age_rating,
            )
        )
        return prompt, result, 0
    assert seq is not None
    text, revision = await _segment_text(story_id, seq)
    if kind == "image":
        # Stored segments passed the filter once, but the room may be stricter now.
        prompt = await _screened_prompt(runtime, story_id, story, text, allow_remote=allow_remote)
        width, height = SEGMENT_IMAGE
        request = ImageRequest(
            prompt=prompt,
            caption=caption_for(prompt),
            width=width,
            height=height,
            age_rating=story.age_rating,
        )
        return prompt, await providers.image.illustrate(request), revision
    if kind == "audio":
        speech = SpeechRequest(text=text, format=runtime.settings.ai.audio_format)
        return text, await providers.audio.narrate(speech), revision
    # Video is made from the segment's own illustration and narration, which
    # become assets of their own on the way (and are reused when they exist).
    prompt = await _screened_prompt(runtime, story_id, story, text, allow_remote=allow_remote)
    image = await generate_asset(
        runtime, story_id, seq, "image", allow_remote=allow_remote, requested_by=requested_by
    )
    audio = await generate_asset(
        runtime, story_id, seq, "audio", allow_remote=allow_remote, requested_by=requested_by
    )
    video = VideoRequest(
        prompt=prompt,
        image=await runtime.blobs.get(image.blob_key),
        audio=await runtime.blobs.get(audio.blob_key),
    )
    return prompt, await providers.video.animate(video), revision


async def generate_asset(
    runtime: MediaRuntime,
    story_id: uuid.UUID,
    seq: int | None,
    kind: str,
    *,
    allow_remote: bool = True,
    requested_by: uuid.UUID | None = None,
) -> AssetRecord:
    """The asset for (story, seq, kind) at the segment's current revision,
    generated and stored unless it exists.

    ``allow_remote=False`` keeps the content on storyhub's own (offline)
    providers (its author has not consented to third-party AI);
    ``requested_by`` and the time taken are recorded with the asset (usage).

    Raises ``NotFound`` (story or segment missing), ``InvalidInput`` (bad kind
    or target), ``ContentBlocked`` (the safety filter refused the prompt: nothing
    is sent or stored) and provider errors (``ProviderUnavailable``, ``ProviderFailed``).
    """
    _check_target(seq, kind)
    existing = await find_asset(story_id, seq, kind)
    if existing is not None:
        return existing
    started = time.monotonic()
    prompt, result, revision = await _produce(
        runtime, story_id, seq, kind, allow_remote=allow_remote, requested_by=requested_by
    )
    generation_ms = round((time.monotonic() - started) * 1000)
    key = media_key(story_id, seq, kind, result.content_type)
    await runtime.blobs.put(key, result.data, result.content_type)
    try:
        await MediaAsset.insert(
            MediaAsset(
                story=story_id,
                seq=_stored_seq(seq),
                kind=kind,
                prompt=prompt,
                provider=result.provider,
                model=result.model,
                blob_key=key,
                content_type=result.content_type,
                duration_seconds=result.duration_seconds,
                requested_by=requested_by,
                generation_ms=generation_ms,
                revision=revision,
            )
        )
    except Exception as exc:
        await runtime.blobs.delete(key)
        if not is_unique_violation(exc):
            raise
        winner = await find_asset(story_id, seq, kind, revision)
        if winner is None:  # the winner was deleted in between: nothing to return
            raise
        return winner
    stored = await find_asset(story_id, seq, kind, revision)
    assert stored is not None
    return stored


async def write_ai_segment(
    runtime: MediaRuntime,
    story_id: uuid.UUID,
    facts: tuple[str, ...] = (),
    *,
    before_seq: int | None = None,
    variant: int = 0,
) -> TextResult:
    """The AI narrator's next segment for the story (not yet checked or committed).

    The prompt carries the story's pinned facts (then ``facts``, the caller's
    own) and the lore entries whose trigger words are in play in the premise
    or the recent segments (``storyhub.media.prompting``). The caller passes
    the text through the safety layer for the room's youngest member and
    commits it like any segment.

    ``before_seq`` rewrites that segment: only what came before it is read,
    and each revision asks for a new telling. ``variant`` asks for a different
    telling too (a new attempt after a blocked text; see ``TextRequest.variant``).
    """
    story = await _story(story_id)
    where = Segment.story == story_id
    if before_seq is not None:
        where &= Segment.seq < before_seq
        revised = (
            await Segment.select(Segment.revision)
            .where((Segment.story == story_id) & (Segment.seq == before_seq))
            .first()
        )
        variant += 1 + (int(revised["revision"]) if revised else 0)
    rows = (
        await Segment.select(Segment.content)
        .where(where)
        .order_by(Segment.seq, ascending=False)
        .limit(RECENT_SEGMENTS)
    )
    recent = tuple(str(row["content"]) for row in reversed(rows))
    pinned, lore = await memory_service.prompt_inputs(story_id)
    memory = story_memory(pinned, lore, story.premise, recent, extra_facts=facts)
    return await runtime.providers.text.continue_story(
        TextRequest(
            premise=story.premise,
            recent_segments=recent,
            title=story.title,
            age_rating=story.age_rating,
            facts=memory.facts,
            lore=memory.lore,
            variant=variant,
        )
    )
