"""Where a built book is stored, and what its download is called.

The key names the variant (``book.epub``, ``book-a5.pdf``,
``book-letter.pdf``), which is how a book row remembers its PDF page size.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from pathlib import PurePosixPath
from typing import Final

from storyhub.books.build import EXTENSIONS, BookFormat
from storyhub.books.pdf import PageSize

_PAGE_SIZE_NAMES: Final[dict[str, PageSize]] = {"a5": "A5", "letter": "letter"}
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9]+")


def book_key(
    story_id: uuid.UUID, book_id: uuid.UUID, book_format: BookFormat, page_size: PageSize | None
) -> str:
    """The blob key of one book: ``books/<story>/<book>/book[-<size>].<ext>``."""
    variant = f"book-{page_size.lower()}" if book_format == "pdf" and page_size else "book"
    return f"books/{story_id}/{book_id}/{variant}.{EXTENSIONS[book_format]}"


def page_size_of(key: str) -> PageSize | None:
    """The PDF page size a key names, or ``None`` (an EPUB)."""
    stem = PurePosixPath(key).stem
    _, _, size = stem.partition("-")
    return _PAGE_SIZE_NAMES.get(size)


def download_name(title: str, book_format: BookFormat, *, draft: bool = False) -> str:
    """An ASCII file name for ``Content-Disposition`` (``The-Lantern-Fox.epub``)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("-", ascii_title).strip("-")[:80] or "book"
    return f"{stem}{'-draft' if draft else ''}.{EXTENSIONS[book_format]}"
