"""A typographic cover, drawn when a story has no cover art.

Deterministic: the palette is chosen from a hash of the title, the layout
depends only on the text, and Pillow's basic layout engine (not raqm, whose
presence varies between machines) draws pre-shaped lines, so the same
manuscript always gives the same PNG bytes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from storyhub.books.fonts import font_path
from storyhub.books.manuscript import Illustration, Manuscript
from storyhub.books.text import clean_text, visual_line, wrap_words

COVER_SIZE: Final = (1200, 1800)
"""Pixels, 2:3 — the usual e-book cover ratio."""

_PALETTES: Final = (
    # (background, accent, text)
    ((26, 54, 93), (244, 196, 48), (250, 247, 240)),
    ((120, 40, 60), (250, 210, 150), (255, 248, 240)),
    ((24, 90, 74), (240, 200, 120), (245, 250, 245)),
    ((60, 40, 110), (130, 220, 230), (248, 246, 255)),
    ((200, 90, 40), (40, 40, 60), (255, 250, 240)),
    ((30, 30, 36), (220, 80, 90), (245, 245, 245)),
)
_MARGIN: Final = 110
_MAX_TITLE_LINES: Final = 5
_MAX_CREDITED: Final = 4
_BYLINE_ROLES: Final = frozenset({"owner", "author", "editor"})
"""The cover names the people who wrote; the narrator and readers are in the colophon."""

Font = ImageFont.FreeTypeFont


def _font(size: int, bold: bool = False) -> Font:
    return ImageFont.truetype(
        str(font_path("bold" if bold else "regular")),
        size,
        layout_engine=ImageFont.Layout.BASIC,
    )


def _fit_title(title: str, width: int) -> tuple[Font, list[str]]:
    size = 132
    while True:
        font = _font(size, bold=True)
        lines = wrap_words(title, lambda s, f=font: f.getlength(visual_line(s)) <= width)
        widest = max((font.getlength(visual_line(line)) for line in lines), default=0)
        if (len(lines) <= _MAX_TITLE_LINES and widest <= width) or size <= 40:
            return font, lines[:_MAX_TITLE_LINES]
        size -= 8


def _byline(names: Sequence[str]) -> str:
    shown = list(names[:_MAX_CREDITED])
    if len(names) > _MAX_CREDITED:
        shown.append(f"{len(names) - _MAX_CREDITED} more")
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " & " + shown[-1]


def _draw_centered(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: Font,
    top: int,
    fill: tuple[int, int, int],
    leading: float,
) -> int:
    width = COVER_SIZE[0]
    step = int(font.size * leading)
    for line in lines:
        shown = visual_line(line)
        x = (width - font.getlength(shown)) / 2
        draw.text((x, top), shown, font=font, fill=fill)
        top += step
    return top


def draw_cover(manuscript: Manuscript) -> Illustration:
    """A PNG cover with the title, the byline and, for a draft, a "DRAFT" band."""
    title = " ".join(clean_text(manuscript.title).split())
    digest = hashlib.sha256(title.encode()).digest()
    background, accent, ink = _PALETTES[digest[0] % len(_PALETTES)]
    width, height = COVER_SIZE

    image = Image.new("RGB", COVER_SIZE, background)
    draw = ImageDraw.Draw(image)
    # A frame and two rules: enough shape to look like a cover, cheap to draw.
    draw.rectangle((40, 40, width - 41, height - 41), outline=accent, width=6)
    draw.rectangle((60, 60, width - 61, height - 61), outline=accent, width=2)
    for i in range(7):  # a row of "stars" whose spacing comes from the title hash
        cx = 200 + i * 133 + digest[1 + i] % 20
        draw.regular_polygon((cx, 330, 14 + digest[8 + i] % 10), 5, fill=accent)

    title_font, title_lines = _fit_title(title, width - 2 * _MARGIN)
    block = int(title_font.size * 1.2) * len(title_lines)
    top = max(440, (height - block) // 2 - 120)
    bottom = _draw_centered(draw, title_lines, title_font, top, ink, 1.2)
    draw.line((width / 2 - 160, bottom + 40, width / 2 + 160, bottom + 40), fill=accent, width=5)

    names = [c.name for c in manuscript.collaborators if c.role in _BYLINE_ROLES]
    if names:
        by_font = _font(50)
        by_lines = wrap_words(
            _byline(names),
            lambda s: by_font.getlength(visual_line(s)) <= width - 2 * _MARGIN,
        )
        _draw_centered(draw, by_lines[:3], by_font, bottom + 100, ink, 1.3)

    if manuscript.draft:
        band_font = _font(64, bold=True)
        draw.rectangle((60, height - 330, width - 61, height - 210), fill=accent)
        label = "DRAFT"
        draw.text(
            ((width - band_font.getlength(label)) / 2, height - 310),
            label,
            font=band_font,
            fill=background,
        )

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=9)
    return Illustration(data=out.getvalue(), mime="image/png", alt=f"Cover of “{title}”")
