"""Text in a PDF: the book fonts, glyph coverage, paragraph styles, bidi paragraphs.

reportlab draws text glyph by glyph in the order it is given and has neither
the Unicode bidi algorithm nor Arabic shaping. :class:`BidiParagraph` fills
the gap for any paragraph with right-to-left letters: words are wrapped in
logical order, then each line is shaped and reordered
(:func:`storyhub.books.text.visual_line`) and drawn aligned to the
paragraph's start. Text extractors such as ``pdftotext`` read the lines back
in logical order.
"""

from __future__ import annotations

from functools import cache
from typing import Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph

from storyhub.books.fonts import font_path
from storyhub.books.text import Direction, visual_line, wrap_words

BODY_SIZES: Final[dict[str, float]] = {"A5": 10.5, "letter": 12}
"""Body text size in points for each page size."""

REGULAR, BOLD, OBLIQUE = "StoryhubSans", "StoryhubSans-Bold", "StoryhubSans-Oblique"


@cache
def register_fonts() -> None:
    """Register DejaVu Sans with reportlab once per process (embedded as subsets)."""
    pdfmetrics.registerFont(TTFont(REGULAR, str(font_path("regular"))))
    pdfmetrics.registerFont(TTFont(BOLD, str(font_path("bold"))))
    pdfmetrics.registerFont(TTFont(OBLIQUE, str(font_path("oblique"))))
    pdfmetrics.registerFontFamily(
        REGULAR, normal=REGULAR, bold=BOLD, italic=OBLIQUE, boldItalic=BOLD
    )


@cache
def _glyphs(font_name: str) -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(font_name).face.charToGlyph)


def _drawable(char: str, glyphs: frozenset[int]) -> bool:
    return char.isspace() or ord(char) in glyphs


def fit_to_font(text: str, style: ParagraphStyle) -> tuple[str, ParagraphStyle]:
    """``text`` and a style whose font can draw it.

    DejaVu Sans Oblique has no Arabic, so such text falls back to the regular
    face (checked on the shaped text: Arabic is drawn as presentation forms).
    Characters no book font has (emoji, CJK) are left out of the PDF rather
    than printed as empty boxes; the EPUB keeps them, since reading systems
    bring their own fonts.
    """
    shaped = visual_line(text)
    if style.fontName != REGULAR and not all(_drawable(c, _glyphs(style.fontName)) for c in shaped):
        style = ParagraphStyle(f"{style.name}-regular", parent=style, fontName=REGULAR)
    glyphs = _glyphs(style.fontName)
    kept = "".join(c for c in text if _drawable(c, glyphs))
    return " ".join(kept.split()), style


_FLIPPED: Final = {TA_LEFT: TA_RIGHT, TA_RIGHT: TA_LEFT}


def aligned(style: ParagraphStyle, direction: Direction, book: Direction) -> ParagraphStyle:
    """``style`` with start/end alignment mirrored for a paragraph running against the book."""
    if direction == book or style.alignment not in _FLIPPED:
        return style
    return ParagraphStyle(
        f"{style.name}-{direction}", parent=style, alignment=_FLIPPED[style.alignment]
    )


class Styles:
    """Paragraph styles for one page size and one base direction."""

    def __init__(self, page_size: str, direction: Direction) -> None:
        size = BODY_SIZES[page_size]
        start = TA_RIGHT if direction == "rtl" else TA_LEFT
        self.body = ParagraphStyle(
            "body",
            fontName=REGULAR,
            fontSize=size,
            leading=size * 1.45,
            spaceAfter=size * 0.5,
            alignment=start,
        )
        self.credit = ParagraphStyle(
            "credit",
            fontName=OBLIQUE,
            fontSize=size * 0.85,
            leading=size * 1.2,
            spaceAfter=size * 1.2,
            textColor=colors.HexColor("#555555"),
            alignment=TA_LEFT if direction == "rtl" else TA_RIGHT,
        )
        self.chapter = ParagraphStyle(
            "chapter",
            fontName=BOLD,
            fontSize=size * 1.7,
            leading=size * 2.1,
            spaceBefore=size * 2,
            spaceAfter=size * 1.5,
            alignment=TA_CENTER,
        )
        self.title = ParagraphStyle(
            "title",
            fontName=BOLD,
            fontSize=size * 2.4,
            leading=size * 2.9,
            spaceBefore=size * 6,
            spaceAfter=size * 2,
            alignment=TA_CENTER,
        )
        self.centered = ParagraphStyle(
            "centered", parent=self.body, alignment=TA_CENTER, spaceAfter=size * 0.9
        )
        self.premise = ParagraphStyle("premise", parent=self.centered, fontName=OBLIQUE)
        self.draft = ParagraphStyle(
            "draft",
            parent=self.centered,
            fontName=BOLD,
            textColor=colors.HexColor("#aa0000"),
            borderWidth=1.2,
            borderColor=colors.HexColor("#aa0000"),
            borderPadding=5,
            spaceBefore=size,
            spaceAfter=size * 2,
        )
        self.colophon = ParagraphStyle(
            "colophon", parent=self.body, fontSize=size * 0.9, leading=size * 1.3
        )


class BidiParagraph(Flowable):
    """A paragraph with right-to-left text, laid out here because reportlab cannot.

    Words are wrapped in logical order, then each line is shaped and put in
    visual order around the paragraph's own direction and drawn aligned to
    its start (right for RTL) or centred.
    """

    def __init__(
        self,
        text: str,
        style: ParagraphStyle,
        direction: Direction,
        lines: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.text = text
        self.style = style
        self.direction = direction
        self.lines = lines
        self.spaceBefore = style.spaceBefore
        self.spaceAfter = style.spaceAfter

    def _width(self, line: str) -> float:
        shown = visual_line(line, self.direction)
        return float(pdfmetrics.stringWidth(shown, self.style.fontName, self.style.fontSize))

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self.lines is None:
            self.lines = wrap_words(self.text, lambda line: self._width(line) <= availWidth)
        self.width = availWidth
        self.height = len(self.lines) * self.style.leading
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        self.wrap(availWidth, availHeight)
        assert self.lines is not None
        fit = int(availHeight // self.style.leading)
        if fit < 1 or fit >= len(self.lines):
            return []
        first = type(self)(self.text, self.style, self.direction, self.lines[:fit])
        rest = BidiParagraph(self.text, self.style, self.direction, self.lines[fit:])
        for attribute in ("outline_title", "outline_key"):  # the heading's bookmark stays on top
            if hasattr(self, attribute):
                setattr(first, attribute, getattr(self, attribute))
        return [first, rest]

    def draw(self) -> None:
        canvas = self.canv
        style = self.style
        canvas.setFont(style.fontName, style.fontSize)
        canvas.setFillColor(style.textColor)
        assert self.lines is not None
        for index, line in enumerate(self.lines):
            # The baseline sits where Paragraph puts it: one font size down in the line box.
            y = self.height - index * style.leading - style.fontSize
            shown = visual_line(line, self.direction)
            if style.alignment == TA_CENTER:
                canvas.drawCentredString(self.width / 2, y, shown)
            elif style.alignment == TA_LEFT:
                canvas.drawString(0, y, shown)
            else:
                canvas.drawRightString(self.width, y, shown)


class ChapterHeading(Paragraph):
    """A chapter title that also becomes an entry in the PDF outline."""

    def __init__(self, text: str, style: ParagraphStyle, key: str) -> None:
        super().__init__(escape(text), style)
        self.outline_title = text
        self.outline_key = key


class BidiChapterHeading(BidiParagraph):
    """A right-to-left chapter title that also becomes an entry in the PDF outline."""

    def __init__(
        self,
        text: str,
        style: ParagraphStyle,
        direction: Direction,
        lines: list[str] | None = None,
        key: str = "",
    ) -> None:
        super().__init__(text, style, direction, lines)
        self.outline_title = text
        self.outline_key = key
