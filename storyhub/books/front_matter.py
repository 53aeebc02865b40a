"""What the cover, title page and colophon say, for both EPUB and PDF.

Keeping the wording in one place keeps the two formats saying the same
thing. Labels are English for now; the book's text keeps its own language.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from storyhub.books.cover import draw_cover
from storyhub.books.manuscript import (
    AgeRating,
    Credit,
    CreditRole,
    Illustration,
    Manuscript,
    as_utc,
)

AGE_RATING_LABELS: Final[dict[AgeRating, str]] = {
    "allAges": "For all ages",
    "teen": "For teens (13+)",
    "mature": "For mature readers (18+)",
}
ROLE_LABELS: Final[dict[CreditRole, str]] = {
    "owner": "author",
    "author": "author",
    "editor": "editor",
    "viewer": "reader",
    "narrator": "AI narrator",
}
DRAFT_NOTICE: Final = "Draft — this story is not finished yet."
WRITING_ROLES: Final = frozenset({"owner", "author", "editor", "narrator"})
GENERATOR: Final = "storyhub"


def book_cover(manuscript: Manuscript) -> Illustration:
    """The manuscript's cover art, or a typographic cover drawn for it."""
    return manuscript.cover if manuscript.cover is not None else draw_cover(manuscript)


def writers(manuscript: Manuscript) -> list[Credit]:
    """Collaborators who write (viewers are thanked in the colophon, not bylined)."""
    return [credit for credit in manuscript.collaborators if credit.role in WRITING_ROLES]


def join_names(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def byline(manuscript: Manuscript) -> str:
    """ "Written by …" for the title page, or ``""`` without writers."""
    names = [credit.name for credit in writers(manuscript)]
    return f"Written by {join_names(names)}" if names else ""


def display_date(moment: datetime) -> str:
    """A date as printed in the book: ISO ``YYYY-MM-DD``, readable in any language."""
    return as_utc(moment).date().isoformat()


def colophon_lines(manuscript: Manuscript) -> list[str]:
    """The facts the colophon states after the list of collaborators."""
    lines = [f"Story started on {display_date(manuscript.created_at)}."]
    if manuscript.completed_at is not None:
        lines.append(f"Story finished on {display_date(manuscript.completed_at)}.")
    lines.append(f"{AGE_RATING_LABELS[manuscript.age_rating]}.")
    if manuscript.draft:
        lines.append(DRAFT_NOTICE)
    lines.append(f"Young writers are credited under pseudonyms. Made with {GENERATOR}.")
    return lines


def credit_line(name: str) -> str:
    """The line printed under each segment."""
    return f"— {name}"
