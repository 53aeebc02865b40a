"""From story facts to a manuscript: where credit names are decided, once.

The loader that reads the database (or a test) collects plain facts — the
story's fields, each writer as a :class:`~storyhub.books.credits.Contributor`,
each segment with its author id and media — and this pure function turns
them into a :class:`~storyhub.books.manuscript.Manuscript`. Emails, birth
dates and a minor's display name stop here: only credit names go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import msgspec

from storyhub.books.credits import Contributor, collaborator_credits, credit_name
from storyhub.books.manuscript import (
    AgeRating,
    Illustration,
    Manuscript,
    Narration,
    Segment,
    check_manuscript,
)

FORMER_COLLABORATOR_CREDIT: Final = "a former co-author"
"""Credit for a segment whose author is no longer a collaborator: we no longer
know whether they are a minor, so no name is printed."""


class SegmentFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One stored segment as the loader found it."""

    seq: int
    author_id: str | None
    """``None`` for the AI narrator."""
    text: str
    illustration: Illustration | None = None
    narration: Narration | None = None


class StoryFacts(msgspec.Struct, frozen=True, kw_only=True):
    """The story's own fields the book needs."""

    identifier: str
    title: str
    premise: str
    language: str
    age_rating: AgeRating
    created_at: datetime
    completed_at: datetime | None = None
    cover: Illustration | None = None


def assemble_manuscript(
    story: StoryFacts,
    contributors: Sequence[Contributor],
    segments: Sequence[SegmentFacts],
    *,
    draft: bool = False,
) -> Manuscript:
    """The manuscript for ``story``; raises ``ManuscriptError`` if it cannot be typeset.

    ``contributors`` are the story's collaborators in colophon order (owner
    first); the AI narrator is added to the colophon when it wrote a segment.
    """
    by_id = {c.user_id: c for c in contributors if c.user_id is not None}
    names = {user_id: credit_name(c) for user_id, c in by_id.items()}
    ordered = sorted(segments, key=lambda s: s.seq)
    book_segments = tuple(
        Segment(
            seq=s.seq,
            text=s.text,
            credit=credit_name(Contributor(user_id=None))
            if s.author_id is None
            else names.get(s.author_id, FORMER_COLLABORATOR_CREDIT),
            illustration=s.illustration,
            narration=s.narration,
        )
        for s in ordered
    )
    people = [c for c in contributors if c.user_id is not None]
    if any(s.author_id is None for s in ordered):
        people.append(Contributor(user_id=None, role="narrator"))
    manuscript = Manuscript(
        identifier=story.identifier,
        title=story.title,
        premise=story.premise,
        language=story.language,
        age_rating=story.age_rating,
        created_at=story.created_at,
        completed_at=story.completed_at,
        draft=draft,
        collaborators=collaborator_credits(people),
        segments=book_segments,
        cover=story.cover,
    )
    check_manuscript(manuscript)
    return manuscript
