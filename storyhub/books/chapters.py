"""Splitting a story's segments into chapters: a pure rule.

Writers mark structure in the text itself, so the rule reads it there:

* a segment that is only a scene break (``* * *``, ``***``, ``---``, ``#``,
  ``⁂``) ends the current chapter and is not printed;
* a segment whose first line starts with "Chapter" (``Chapter 2``,
  ``CHAPTER TWO: The Cave``) starts a new chapter and gives it its title; the
  rest of the segment, if any, is the chapter's first text;
* a story without markers is cut every ``max_segments`` segments, so a
  1,000-segment story is not one endless page.

Chapters are numbered from 1; untitled chapters are called "Chapter N".
Empty chapters (two markers in a row) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import msgspec

from storyhub.books.manuscript import Segment
from storyhub.books.text import clean_text

DEFAULT_MAX_SEGMENTS: Final = 25
"""Segments per chapter when the writers mark no chapters themselves."""

_SCENE_BREAK = re.compile(r"^\s*(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:~\s*){3,}|#|⁂|§)\s*$")
_CHAPTER_HEADING = re.compile(r"^\s*chapter\b", re.IGNORECASE)
MAX_TITLE_LENGTH: Final = 120


class Chapter(msgspec.Struct, frozen=True, kw_only=True):
    """A run of segments under one heading."""

    number: int
    title: str
    segments: tuple[Segment, ...]


def is_scene_break(text: str) -> bool:
    """Whether a segment's whole text is a scene-break marker."""
    return bool(_SCENE_BREAK.match(clean_text(text)))


def chapter_heading(text: str) -> tuple[str, str] | None:
    """``(title, remaining text)`` when a segment opens a chapter, else ``None``."""
    cleaned = clean_text(text).strip()
    if not _CHAPTER_HEADING.match(cleaned):
        return None
    first, _, rest = cleaned.partition("\n")
    return first.strip()[:MAX_TITLE_LENGTH], rest.strip()


def split_into_chapters(
    segments: Iterable[Segment], max_segments: int = DEFAULT_MAX_SEGMENTS
) -> tuple[Chapter, ...]:
    """Group ``segments`` (in story order) into chapters by the rules above."""
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    chapters: list[Chapter] = []
    current: list[Segment] = []
    title: str | None = None

    def close() -> None:
        nonlocal current, title
        if current:
            number = len(chapters) + 1
            chapters.append(
                Chapter(number=number, title=title or f"Chapter {number}", segments=tuple(current))
            )
        current, title = [], None

    for segment in segments:
        if is_scene_break(segment.text):
            close()
            continue
        heading = chapter_heading(segment.text)
        if heading is not None:
            close()
            title, rest = heading
            has_media = segment.illustration is not None or segment.narration is not None
            if rest or has_media:
                current.append(msgspec.structs.replace(segment, text=rest))
            continue
        if len(current) >= max_segments:
            close()
        current.append(segment)
    close()
    return tuple(chapters)
