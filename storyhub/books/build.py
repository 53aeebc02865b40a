"""Entry points: build a book from a manuscript.

CPU-bound and synchronous (a 1,000-segment PDF takes seconds): call these
from a worker task or ``asyncio.to_thread``, never inline in a coroutine
that serves other users.
"""

from __future__ import annotations

from typing import Final, Literal

from storyhub.books.epub import write_epub
from storyhub.books.manuscript import Manuscript
from storyhub.books.pdf import PageSize, write_pdf

BookFormat = Literal["epub", "pdf"]
CONTENT_TYPES: Final[dict[str, str]] = {"epub": "application/epub+zip", "pdf": "application/pdf"}
EXTENSIONS: Final[dict[str, str]] = {"epub": "epub", "pdf": "pdf"}


def build_epub(manuscript: Manuscript) -> bytes:
    """An EPUB 3 book (cover, title page, nav, chapters, colophon, media overlays)."""
    return write_epub(manuscript)


def build_pdf(manuscript: Manuscript, page_size: PageSize = "A5") -> bytes:
    """A print-ready PDF book in ``A5`` or US ``letter``."""
    return write_pdf(manuscript, page_size)


def build_book(
    manuscript: Manuscript, book_format: BookFormat, page_size: PageSize = "A5"
) -> bytes:
    """Dispatch on ``book_format``; ``page_size`` only matters for PDF."""
    if book_format == "epub":
        return build_epub(manuscript)
    if book_format == "pdf":
        return build_pdf(manuscript, page_size)
    raise ValueError(f"unknown book format {book_format!r}")
