"""PDF writer (reportlab): a print-ready book in A5 or US Letter.

Cover, title page, chapters (each segment with its illustration and credit
line), colophon; page numbers on every page after the title page; DejaVu
Sans embedded (subset) so the file prints the same anywhere; a PDF outline
with one entry per chapter.

Right-to-left text is laid out by :mod:`storyhub.books.pdf_text`, since
reportlab has no bidi algorithm or Arabic shaping.

Reproducible: the PDF's dates come from the manuscript and reportlab's
invariant mode fixes the document id, so identical input gives identical
bytes.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Final, Literal
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A5, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import ImageReader, TimeStamp
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)

from storyhub.books.chapters import Chapter, split_into_chapters
from storyhub.books.front_matter import (
    AGE_RATING_LABELS,
    DRAFT_NOTICE,
    GENERATOR,
    ROLE_LABELS,
    book_cover,
    byline,
    colophon_lines,
    credit_line,
    display_date,
    writers,
)
from storyhub.books.manuscript import Illustration, Manuscript, as_utc, check_manuscript
from storyhub.books.pdf_text import (
    REGULAR,
    BidiChapterHeading,
    BidiParagraph,
    ChapterHeading,
    Styles,
    aligned,
    fit_to_font,
    register_fonts,
)
from storyhub.books.text import (
    clean_text,
    has_rtl,
    language_direction,
    paragraphs,
    text_direction,
)

PageSize = Literal["A5", "letter"]
PAGE_SIZES: Final[dict[str, tuple[float, float]]] = {"A5": A5, "letter": LETTER}
_MARGINS: Final[dict[str, float]] = {"A5": 16 * mm, "letter": 0.9 * inch}
_ILLUSTRATION_SHARE: Final = 0.45
"""An illustration takes at most this share of the text block's height."""


def _fixed_timestamp(moment: datetime) -> TimeStamp:
    stamp = TimeStamp(invariant=1)
    utc = as_utc(moment)
    stamp.t = utc.timestamp()
    stamp.lt = utc.timetuple()
    stamp.YMDhms = tuple(utc.timetuple())[:6]
    stamp.dhh = stamp.dmm = 0
    return stamp


def _canvas_maker(moment: datetime) -> type[Canvas]:
    class BookCanvas(Canvas):
        """A canvas whose document dates are the manuscript's, not the clock's."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = _fixed_timestamp(moment)

    return BookCanvas


class _BookTemplate(BaseDocTemplate):
    def afterFlowable(self, flowable: Flowable) -> None:
        key = getattr(flowable, "outline_key", None)
        if key is not None:
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.outline_title, key, level=0)


class _PdfBook:
    def __init__(self, manuscript: Manuscript, page_size: str, max_segments: int) -> None:
        self.manuscript = manuscript
        self.page_size = page_size
        self.width, self.height = PAGE_SIZES[page_size]
        self.margin = _MARGINS[page_size]
        self.direction = language_direction(manuscript.language)
        self.styles = Styles(page_size, self.direction)
        self.chapters: tuple[Chapter, ...] = split_into_chapters(manuscript.segments, max_segments)
        self.cover = book_cover(manuscript)
        self.frame_width = self.width - 2 * self.margin
        self.frame_height = self.height - 2 * self.margin - 14  # room for the page number

    # -- pieces ------------------------------------------------------------------

    def para(self, text: str, style: ParagraphStyle, *, own_alignment: bool = True) -> Flowable:
        """A paragraph; with ``own_alignment`` it starts on its own direction's side."""
        cleaned, style = fit_to_font(" ".join(clean_text(text).split()), style)
        direction = text_direction(cleaned, self.direction)
        if own_alignment:
            style = aligned(style, direction, self.direction)
        if has_rtl(cleaned):
            return BidiParagraph(cleaned, style, direction)
        return Paragraph(escape(cleaned), style)

    def heading(self, chapter: Chapter) -> Flowable:
        key = f"chapter-{chapter.number}"
        title, style = fit_to_font(" ".join(clean_text(chapter.title).split()), self.styles.chapter)
        if has_rtl(title):
            return BidiChapterHeading(title, style, text_direction(title), key=key)
        return ChapterHeading(title, style, key)

    def illustration(self, picture: Illustration) -> Flowable:
        with PILImage.open(io.BytesIO(picture.data)) as probe:
            pixel_width, pixel_height = probe.size
        scale = min(
            self.frame_width / pixel_width, self.frame_height * _ILLUSTRATION_SHARE / pixel_height
        )
        image = Image(
            io.BytesIO(picture.data),
            width=pixel_width * scale,
            height=pixel_height * scale,
            mask="auto",  # transparent PNG areas stay paper-coloured, not black
        )
        image.hAlign = "CENTER"
        image.spaceAfter = self.styles.body.fontSize * 0.6
        return image

    # -- pages -------------------------------------------------------------------

    def draw_cover(self, canvas: Canvas, _doc: BaseDocTemplate) -> None:
        with PILImage.open(io.BytesIO(self.cover.data)) as probe:
            pixel_width, pixel_height = probe.size
            corner = probe.convert("RGB").getpixel((0, 0))
        # Fill the page with the cover's own edge colour, then fit the art inside.
        canvas.setFillColorRGB(*(channel / 255 for channel in corner))  # type: ignore[union-attr]
        canvas.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        scale = min(self.width / pixel_width, self.height / pixel_height)
        drawn_w, drawn_h = pixel_width * scale, pixel_height * scale
        canvas.drawImage(
            _image_reader(self.cover.data),
            (self.width - drawn_w) / 2,
            (self.height - drawn_h) / 2,
            drawn_w,
            drawn_h,
            mask="auto",
        )

    def draw_page_number(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.setFont(REGULAR, 9)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawCentredString(self.width / 2, self.margin * 0.6, str(doc.page))

    def story(self) -> list[Flowable]:
        m, s = self.manuscript, self.styles
        flow: list[Flowable] = [Spacer(1, 1), NextPageTemplate("front"), PageBreak()]
        flow.append(self.para(m.title, s.title))
        if m.draft:
            flow.append(self.para(DRAFT_NOTICE, s.draft))
        if m.premise.strip():
            flow.append(self.para(m.premise, s.premise))
        if line := byline(m):
            flow.append(self.para(line, s.centered))
        flow.append(self.para(AGE_RATING_LABELS[m.age_rating], s.centered))
        flow.append(self.para(display_date(m.modified_at), s.centered))
        flow.append(NextPageTemplate("body"))
        for chapter in self.chapters:
            flow.append(PageBreak())
            flow.append(self.heading(chapter))
            for segment in chapter.segments:
                if segment.illustration is not None:
                    flow.append(self.illustration(segment.illustration))
                flow.extend(self.para(text, s.body) for text in paragraphs(segment.text))
                # Credit lines keep to the book's end side, whatever the name's script.
                flow.append(self.para(credit_line(segment.credit), s.credit, own_alignment=False))
        flow.append(PageBreak())
        flow.append(self.para("About this book", s.chapter))
        flow.append(self.para(m.title, s.colophon))
        for credit in m.collaborators:
            flow.append(self.para(f"{credit.name} — {ROLE_LABELS[credit.role]}", s.colophon))
        flow.append(Spacer(1, s.body.fontSize))
        flow.extend(self.para(line, s.colophon) for line in colophon_lines(m))
        return flow

    def build(self) -> bytes:
        register_fonts()
        m = self.manuscript
        out = io.BytesIO()
        authors = ", ".join(credit.name for credit in writers(m))
        keywords = [AGE_RATING_LABELS[m.age_rating]] + (["draft"] if m.draft else [])
        doc = _BookTemplate(
            out,
            pagesize=(self.width, self.height),
            leftMargin=self.margin,
            rightMargin=self.margin,
            topMargin=self.margin,
            bottomMargin=self.margin + 14,
            title=clean_text(m.title) + (" (draft)" if m.draft else ""),
            author=authors,
            subject=clean_text(m.premise)[:500],
            creator=GENERATOR,
            producer=GENERATOR,
            keywords=keywords,
            lang=clean_text(m.language),
            invariant=1,
            initialFontName=REGULAR,
            displayDocTitle=True,
        )
        text_frame = Frame(
            self.margin,
            self.margin + 14,
            self.frame_width,
            self.frame_height,
            id="text",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        cover_frame = Frame(0, 0, self.width, self.height, id="cover")
        doc.addPageTemplates(
            [
                PageTemplate(id="cover", frames=[cover_frame], onPage=self.draw_cover),
                PageTemplate(id="front", frames=[text_frame]),
                PageTemplate(id="body", frames=[text_frame], onPage=self.draw_page_number),
            ]
        )
        doc.build(self.story(), canvasmaker=_canvas_maker(m.modified_at))
        return out.getvalue()


def _image_reader(data: bytes) -> ImageReader:
    return ImageReader(io.BytesIO(data))


def write_pdf(
    manuscript: Manuscript, page_size: PageSize = "A5", *, max_segments_per_chapter: int = 25
) -> bytes:
    """The PDF bytes for ``manuscript`` at ``page_size``; identical input, identical bytes."""
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page size must be one of {sorted(PAGE_SIZES)}")
    check_manuscript(manuscript)
    return _PdfBook(manuscript, page_size, max_segments_per_chapter).build()
