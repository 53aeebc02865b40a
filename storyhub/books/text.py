"""Text as books need it: XML-safe, split into paragraphs, with a direction.

Pure functions shared by the EPUB and PDF builders and the cover. Right-to-left
scripts need two things the EPUB gets from the reading system but a PDF or a
Pillow drawing does not: Arabic letters joined into their contextual forms
(``arabic_reshaper``) and the line put into visual order (``python-bidi``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Final, Literal

import arabic_reshaper

# The pure-Python implementation applies rule L4 (mirroring brackets in RTL
# runs); the Rust-backed `bidi.get_display` of python-bidi 0.6 does not.
from bidi.algorithm import get_display

Direction = Literal["ltr", "rtl"]

RTL_LANGUAGES: Final = frozenset(
    {"ar", "arc", "dv", "fa", "he", "iw", "ks", "ku-arab", "ps", "sd", "syr", "ug", "ur", "yi"}
)
"""Primary language subtags (or tag prefixes) whose script runs right to left."""

# XML 1.0 forbids most C0 controls; C1 controls and non-characters are legal but
# render as garbage; lone surrogates cannot even be encoded as UTF-8. Tab and
# newline stay: paragraphs are split on newlines.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def clean_text(text: str) -> str:
    """``text`` with characters XML or a PDF cannot carry removed, NFC-normalised."""
    return unicodedata.normalize("NFC", _UNPRINTABLE.sub("", text.replace("\r\n", "\n")))


def paragraphs(text: str) -> list[str]:
    """The paragraphs of ``text``: blank lines separate them, single newlines join.

    Writers hit Enter in the middle of a turn as often as between ideas; one
    newline is read as a soft break (kept as a space), two as a new paragraph.
    """
    result: list[str] = []
    for block in _BLANK_LINES.split(clean_text(text)):
        joined = _SPACES.sub(" ", " ".join(line.strip() for line in block.splitlines())).strip()
        if joined:
            result.append(joined)
    return result


def language_direction(language: str) -> Direction:
    """The writing direction of a BCP 47 language tag (``ar``, ``he-IL``, ``ku-Arab``)."""
    tag = language.strip().lower().replace("_", "-")
    primary = tag.split("-", 1)[0]
    if primary in RTL_LANGUAGES or any(tag.startswith(p) for p in RTL_LANGUAGES if "-" in p):
        return "rtl"
    return "ltr"


def text_direction(text: str, default: Direction = "ltr") -> Direction:
    """Direction of ``text`` by its first strong character (Unicode bidi rule P2)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return default


def visual_line(line: str, base: Direction | None = None) -> str:
    """One line of logical-order text made ready to draw left to right glyph by glyph.

    Arabic is joined into presentation forms first, then the bidi algorithm
    reorders the line around ``base`` (the paragraph's direction; by default
    that of the line's first strong character). Only call this on a single
    line, after wrapping: reordering a whole paragraph would move its end to
    the first line.
    """
    if not has_rtl(line):
        return line
    direction = base or text_direction(line)
    return get_display(arabic_reshaper.reshape(line), base_dir="R" if direction == "rtl" else "L")


def has_rtl(text: str) -> bool:
    """Whether ``text`` has any right-to-left letter (Hebrew, Arabic, ...)."""
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


_SCRIPT_LANGUAGES: Final = (("ARABIC", "ar"), ("HEBREW", "he"))


def guess_language(texts: list[str], default: str = "en") -> str:
    """A language tag for a story that has none: ``ar`` or ``he`` when most of
    its letters are Arabic or Hebrew, else ``default``.

    Only the writing direction really matters to a book (page progression,
    alignment); a reader's own settings handle the rest.
    """
    counts: dict[str, int] = {}
    letters = 0
    for text in texts:
        for char in text:
            if not char.isalpha():
                continue
            letters += 1
            name = unicodedata.name(char, "")
            for script, tag in _SCRIPT_LANGUAGES:
                if name.startswith(script):
                    counts[tag] = counts.get(tag, 0) + 1
    if letters:
        tag, count = max(counts.items(), key=lambda item: item[1], default=(default, 0))
        if count * 2 > letters:
            return tag
    return default


def _longest_fitting_prefix(word: str, fits: Callable[[str], bool]) -> int:
    low, high = 1, len(word)  # word[:1] is taken even if it does not fit: progress first
    while low < high:
        middle = (low + high + 1) // 2
        if fits(word[:middle]):
            low = middle
        else:
            high = middle - 1
    return low


def wrap_words(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy word wrap in logical order.

    ``fits(line)`` says whether a line fits the width. A word longer than a
    whole line is cut into pieces that fit, so nothing runs off the page.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        while len(word) > 1 and not fits(word):
            cut = _longest_fitting_prefix(word, fits)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines
