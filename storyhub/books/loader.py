"""Reading a stored story into a manuscript: the only I/O of the book pipeline.

Collects plain facts from the database (story, collaborators with their
display name and age tier, segments, media assets) and the blob store
(illustration and narration bytes), prepares the media for a book and hands
everything to :func:`storyhub.books.assemble.assemble_manuscript`, which
decides the credit names. Emails and birth dates are never read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, Final

from storyhub.books.assemble import SegmentFacts, StoryFacts, assemble_manuscript
from storyhub.books.credits import Contributor, suggest_pseudonym
from storyhub.books.manuscript import CreditRole, Illustration, Manuscript, Narration
from storyhub.books.media_prep import prepare_illustration, prepare_narration
from storyhub.books.text import guess_language
from storyhub.lib.blobs import BlobNotFound, BlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import NotFound
from storyhub.media.tables import MediaAsset
from storyhub.stories.tables import Collaborator, Segment, Story

PseudonymSource = Callable[[str], str]
"""User id → the stable pseudonym a minor is credited under."""

CONCURRENT_FETCHES: Final = 8


def keyed_pseudonyms(cipher: FieldCipher) -> PseudonymSource:
    """Pseudonyms derived from a keyed hash of the user id: stable, and they reveal nothing."""
    return lambda user_id: suggest_pseudonym(
        cipher.lookup_hash(f"book-pseudonym:{user_id}").encode()
    )


async def _fetch(blobs: BlobStore, key: str, gate: asyncio.Semaphore) -> bytes | None:
    async with gate:
        try:
            return await blobs.get(key)
        except BlobNotFound:
            return None  # an asset row whose file is gone: the book goes without it


async def _media(
    story_id: uuid.UUID, blobs: BlobStore
) -> tuple[dict[int, Illustration], dict[int, Narration], Illustration | None]:
    rows = await MediaAsset.select(
        MediaAsset.seq,
        MediaAsset.kind,
        MediaAsset.blob_key,
        MediaAsset.content_type,
        MediaAsset.duration_seconds,
    ).where((MediaAsset.story == story_id) & MediaAsset.kind.is_in(["image", "audio", "cover"]))
    gate = asyncio.Semaphore(CONCURRENT_FETCHES)
    blobs_by_row = await asyncio.gather(*(_fetch(blobs, r["blob_key"], gate) for r in rows))
    pictures: dict[int, Illustration] = {}
    narrations: dict[int, Narration] = {}
    cover: Illustration | None = None
    for row, data in zip(rows, blobs_by_row, strict=True):
        if data is None:
            continue
        if row["kind"] == "cover":
            cover = prepare_illustration(data, row["content_type"], alt="Cover art")
        elif row["kind"] == "image" and row["seq"] is not None:
            picture = prepare_illustration(
                data, row["content_type"], alt=f"Illustration for part {row['seq']} of the story"
            )
            if picture is not None:
                pictures[row["seq"]] = picture
        elif row["kind"] == "audio" and row["seq"] is not None:
            audio = await prepare_narration(data, row["content_type"], row["duration_seconds"])
            if audio is not None:
                narrations[row["seq"]] = audio
    return pictures, narrations, cover


def _contributors(
    rows: list[dict[str, Any]], creator: Any, pseudonym_for: PseudonymSource
) -> list[Contributor]:
    people: list[Contributor] = []
    # The owner first, then everyone else in the order they joined.
    for row in sorted(rows, key=lambda r: (r["user"] != creator, r["joined_at"], r["id"])):
        user_id = str(row["user"])
        is_minor = row["user.age_tier"] != "adult"
        role: CreditRole = "owner" if row["user"] == creator else row["role"]
        people.append(
            Contributor(
                user_id=user_id,
                display_name=row["user.display_name"] or "",
                is_minor=is_minor,
                pseudonym=pseudonym_for(user_id) if is_minor else None,
                role=role,
            )
        )
    return people


async def load_manuscript(
    story_id: uuid.UUID,
    *,
    blobs: BlobStore,
    pseudonym_for: PseudonymSource,
    draft: bool = False,
    language: str | None = None,
) -> Manuscript:
    """The manuscript of a stored story; ``NotFound`` if the story is gone.

    Authorization is the caller's job: this reads whatever story it is given.
    """
    story = (
        await Story.select(
            Story.id,
            Story.title,
            Story.premise,
            Story.creator,
            Story.age_rating,
            Story.created_at,
            Story.completed_at,
        )
        .where(Story.id == story_id)
        .first()
    )
    if story is None:
        raise NotFound("There is no such story, or you cannot see it.", code="storyNotFound")
    collaborators = await Collaborator.select(
        Collaborator.id,
        Collaborator.user,
        Collaborator.role,
        Collaborator.joined_at,
        Collaborator.user.display_name,
        Collaborator.user.age_tier,
    ).where(Collaborator.story == story_id)
    segments = (
        await Segment.select(Segment.seq, Segment.author, Segment.content)
        .where(Segment.story == story_id)
        .order_by(Segment.seq)
    )
    pictures, narrations, cover = await _media(story_id, blobs)
    facts = StoryFacts(
        identifier=str(story["id"]),
        title=story["title"],
        premise=story["premise"] or "",
        language=language or guess_language([s["content"] for s in segments[:200]]),
        age_rating=story["age_rating"],
        created_at=story["created_at"],
        completed_at=story["completed_at"],
        cover=cover,
    )
    segment_facts = [
        SegmentFacts(
            seq=s["seq"],
            author_id=None if s["author"] is None else str(s["author"]),
            text=s["content"],
            illustration=pictures.get(s["seq"]),
            narration=narrations.get(s["seq"]),
        )
        for s in segments
    ]
    people = _contributors(collaborators, story["creator"], pseudonym_for)
    return assemble_manuscript(facts, people, segment_facts, draft=draft)
