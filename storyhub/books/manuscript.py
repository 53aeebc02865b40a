"""The in-memory manuscript a book is built from.

A :class:`Manuscript` is everything the EPUB and PDF builders need and
nothing more: text, credit names that are already safe to print (never a
child's real name or anyone's email — see :mod:`storyhub.books.credits`),
and media as bytes. The builders are functions of a manuscript alone, so
the same manuscript always gives the same book.

:func:`check_manuscript` states the rules a manuscript must meet; the
builders call it first, so a bad manuscript fails loudly before any work.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final, Literal

import msgspec

from storyhub.lib.errors import InvalidInput

AgeRating = Literal["allAges", "teen", "mature"]
CreditRole = Literal["owner", "author", "editor", "viewer", "narrator"]

IMAGE_TYPES: Final[dict[str, str]] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
}
"""Image media types both builders can embed (EPUB 3 core media types that
reportlab can also draw), with the file extension used inside the EPUB."""

AUDIO_TYPES: Final[dict[str, str]] = {"audio/mpeg": "mp3", "audio/mp4": "m4a"}
"""Narration media types EPUB 3.2 readers must play (core media types);
anything else (e.g. Opus) has to be transcoded before it reaches a manuscript."""

_MAGIC: Final[dict[str, tuple[bytes, ...]]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}

MAX_TITLE_LENGTH: Final = 200
_LANGUAGE_TAG: Final = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


class ManuscriptError(InvalidInput):
    """A manuscript breaks one of the rules in :func:`check_manuscript`."""

    code = "invalidManuscript"


class Illustration(msgspec.Struct, frozen=True, kw_only=True):
    """An image: a segment's illustration or the book's cover art."""

    data: bytes
    mime: str
    alt: str = ""
    """Text alternative; the builders fall back to a generic description."""


class Narration(msgspec.Struct, frozen=True, kw_only=True):
    """Narration audio for one segment."""

    data: bytes
    mime: str
    duration_seconds: float
    """Real playing time of ``data``; it becomes the media overlay's clip length."""


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    """One piece of the story, in order."""

    seq: int
    text: str
    credit: str
    """Who wrote it, as printed: a pseudonym for a minor, ``"the narrator"`` for the AI."""
    illustration: Illustration | None = None
    narration: Narration | None = None


class Credit(msgspec.Struct, frozen=True, kw_only=True):
    """A collaborator as the colophon lists them."""

    name: str
    role: CreditRole


class Manuscript(msgspec.Struct, frozen=True, kw_only=True):
    """A story ready to be typeset."""

    identifier: str
    """Stable id of the story (a UUID); the EPUB's ``urn:uuid:`` identifier."""
    title: str
    premise: str
    language: str
    """BCP 47 tag, e.g. ``en``, ``ar``, ``he-IL``."""
    age_rating: AgeRating
    created_at: datetime
    completed_at: datetime | None = None
    draft: bool = False
    collaborators: tuple[Credit, ...] = ()
    segments: tuple[Segment, ...] = ()
    cover: Illustration | None = None

    @property
    def modified_at(self) -> datetime:
        """The moment the book's content was fixed: completion, else creation.

        Every timestamp inside a built book derives from this, never from the
        clock, which is what makes two builds byte-identical.
        """
        return as_utc(self.completed_at or self.created_at)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_image(image: Illustration, where: str) -> None:
    if image.mime not in IMAGE_TYPES:
        raise ManuscriptError(
            f"{where}: image type {image.mime!r} is not one of {sorted(IMAGE_TYPES)}",
        )
    if not image.data.startswith(_MAGIC[image.mime]):
        raise ManuscriptError(f"{where}: the image bytes are not {image.mime}")


def _check_narration(audio: Narration, where: str) -> None:
    if audio.mime not in AUDIO_TYPES:
        raise ManuscriptError(
            f"{where}: audio type {audio.mime!r} is not one of {sorted(AUDIO_TYPES)}",
        )
    if not audio.data:
        raise ManuscriptError(f"{where}: the narration is empty")
    if not 0 < audio.duration_seconds < 24 * 3600:
        raise ManuscriptError(f"{where}: narration duration must be positive")


def check_manuscript(manuscript: Manuscript) -> None:
    """Raise :class:`ManuscriptError` unless ``manuscript`` can be typeset.

    Rules: a non-blank title of at most 200 characters, a well-formed language tag,
    segments in strictly increasing ``seq`` order each with a non-blank
    credit, and media of supported types whose bytes match their type.
    """
    if not manuscript.title.strip() or len(manuscript.title) > MAX_TITLE_LENGTH:
        raise ManuscriptError("the title must be 1 to 200 characters")
    if not _LANGUAGE_TAG.match(manuscript.language):
        raise ManuscriptError("the language must be a BCP 47 tag such as 'en' or 'he-IL'")
    if manuscript.cover is not None:
        _check_image(manuscript.cover, "cover")
    previous: int | None = None
    for segment in manuscript.segments:
        where = f"segment {segment.seq}"
        if previous is not None and segment.seq <= previous:
            raise ManuscriptError(f"{where}: segments must be in increasing seq order")
        previous = segment.seq
        if not segment.credit.strip():
            raise ManuscriptError(f"{where}: every segment needs a credit name")
        if segment.illustration is not None:
            _check_image(segment.illustration, where)
        if segment.narration is not None:
            _check_narration(segment.narration, where)
