"""EPUB 3 writer: a manuscript in, the bytes of a valid ``.epub`` out.

Written by hand rather than with ebooklib because the book must be
byte-for-byte reproducible: ebooklib stamps the zip entries (and, unless
told otherwise, ``dcterms:modified``) with the clock, and would only carry
the SMIL media overlays as opaque items whose metadata (``media:duration``
per overlay) we would write by hand anyway. The result passes epubcheck 4.2
with no errors and no warnings.

Layout inside the container::

    mimetype                      stored first and uncompressed (OCF rule)
    META-INF/container.xml
    EPUB/package.opf              metadata, manifest, spine
    EPUB/nav.xhtml                table of contents and landmarks
    EPUB/cover.xhtml, title.xhtml, chapter-NNN.xhtml, colophon.xhtml
    EPUB/style.css
    EPUB/images/…, EPUB/audio/…  illustrations and narration
    EPUB/overlays/chapter-NNN.smil   media overlays, one per narrated chapter
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from storyhub.books.chapters import Chapter, split_into_chapters
from storyhub.books.epub_container import (
    ACTIVE_CLASS,
    CONTAINER_XML,
    STYLESHEET,
    Entry,
    zip_container,
)
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
from storyhub.books.manuscript import (
    AUDIO_TYPES,
    IMAGE_TYPES,
    Manuscript,
    Segment,
    as_utc,
    check_manuscript,
)
from storyhub.books.text import (
    Direction,
    clean_text,
    language_direction,
    paragraphs,
    text_direction,
)

_UUID_NAMESPACE: Final = uuid.UUID("6f1c1c3e-6a38-4b8e-9a43-5b6bd0d7e1a2")
_MARC_ROLES: Final = {"owner": "aut", "author": "aut", "editor": "edt", "narrator": "aut"}
_CONTENT_RATING: Final = {"allAges": "all ages", "teen": "teen", "mature": "mature"}
_TYPICAL_AGE_RANGE: Final = {"teen": "13-", "mature": "18-"}


def _clock(milliseconds: int) -> str:
    """An SMIL full clock value, ``H:MM:SS.mmm``."""
    seconds, millis = divmod(milliseconds, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _w3c(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: str) -> str:
    return escape(clean_text(value))


def _attr(value: str) -> str:
    return quoteattr(clean_text(value))


def book_identifier(manuscript: Manuscript) -> str:
    """The EPUB's ``urn:uuid:`` id: the story id when it is a UUID, else derived from it."""
    try:
        value = uuid.UUID(manuscript.identifier)
    except ValueError:
        value = uuid.uuid5(_UUID_NAMESPACE, manuscript.identifier)
    return f"urn:uuid:{value}"


class _Book:
    """Collects the files of one EPUB while the XHTML is written."""

    def __init__(self, manuscript: Manuscript, max_segments: int) -> None:
        self.manuscript = manuscript
        self.language = clean_text(manuscript.language).strip()
        self.direction: Direction = language_direction(self.language)
        self.chapters = split_into_chapters(manuscript.segments, max_segments)
        self.entries: list[Entry] = []
        self.manifest: list[str] = []
        self.spine: list[str] = []
        self.overlay_ms: dict[str, int] = {}

    # -- files ----------------------------------------------------------------

    def add(
        self,
        item_id: str,
        href: str,
        media_type: str,
        data: bytes,
        *,
        properties: str = "",
        overlay: str = "",
        in_spine: bool = False,
    ) -> None:
        compress = not (media_type.startswith("image/") or media_type.startswith("audio/"))
        self.entries.append(Entry(f"EPUB/{href}", data, compress))
        extra = f' properties="{properties}"' if properties else ""
        extra += f' media-overlay="{overlay}"' if overlay else ""
        self.manifest.append(
            f'    <item id="{item_id}" href="{href}" media-type="{media_type}"{extra}/>'
        )
        if in_spine:
            self.spine.append(f'    <itemref idref="{item_id}"/>')

    def page(self, title: str, body: str, *, epub_type: str = "") -> bytes:
        section_type = f' epub:type="{epub_type}"' if epub_type else ""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"'
            f" xml:lang={_attr(self.language)} lang={_attr(self.language)}"
            f' dir="{self.direction}">\n'
            f'<head>\n<meta charset="UTF-8"/>\n<title>{_text(title)}</title>\n'
            '<link rel="stylesheet" type="text/css" href="style.css"/>\n</head>\n'
            f"<body{section_type}>\n{body}</body>\n</html>\n"
        ).encode()

    # -- pages ----------------------------------------------------------------

    def cover(self) -> None:
        art = book_cover(self.manuscript)
        href = f"images/cover.{IMAGE_TYPES[art.mime]}"
        self.add("cover-image", href, art.mime, art.data, properties="cover-image")
        alt = art.alt or f"Cover of {self.manuscript.title}"
        body = (
            '<section class="cover" epub:type="cover">\n'
            f'<img src="{href}" alt={_attr(alt)}/>\n</section>\n'
        )
        self.add(
            "cover",
            "cover.xhtml",
            "application/xhtml+xml",
            self.page(self.manuscript.title, body),
            in_spine=True,
        )

    def title_page(self) -> None:
        m = self.manuscript
        parts = [f"<h1>{_text(m.title)}</h1>"]
        if m.draft:
            parts.append(f'<p class="draft">{_text(DRAFT_NOTICE)}</p>')
        if m.premise.strip():
            parts.append(f'<p class="premise">{_text(m.premise)}</p>')
        if line := byline(m):
            parts.append(f"<p>{_text(line)}</p>")
        parts.append(f"<p>{_text(AGE_RATING_LABELS[m.age_rating])}</p>")
        parts.append(f"<p>{_text(display_date(m.modified_at))}</p>")
        body = (
            '<section class="title-page" epub:type="titlepage">\n'
            + "\n".join(parts)
            + "\n</section>\n"
        )
        self.add(
            "title-page",
            "title.xhtml",
            "application/xhtml+xml",
            self.page(m.title, body),
            in_spine=True,
        )

    def segment_html(self, segment: Segment, chapter_href: str, pars: list[str]) -> str:
        anchor = f"seg-{segment.seq}"
        html = [f'<div class="segment" id="{anchor}">']
        if segment.illustration is not None:
            picture = segment.illustration
            href = f"images/seg-{segment.seq:06d}.{IMAGE_TYPES[picture.mime]}"
            self.add(f"img-{segment.seq}", href, picture.mime, picture.data)
            alt = picture.alt or f"Illustration for part {segment.seq} of the story"
            html.append(f'<figure><img src="{href}" alt={_attr(alt)}/></figure>')
        for text in paragraphs(segment.text):
            own = text_direction(text, self.direction)
            direction = f' dir="{own}"' if own != self.direction else ""
            html.append(f"<p{direction}>{_text(text)}</p>")
        html.append(f'<p class="credit">{_text(credit_line(segment.credit))}</p>')
        html.append("</div>")
        if segment.narration is not None:
            audio = segment.narration
            audio_href = f"audio/seg-{segment.seq:06d}.{AUDIO_TYPES[audio.mime]}"
            self.add(f"audio-{segment.seq}", audio_href, audio.mime, audio.data)
            millis = max(1, round(audio.duration_seconds * 1000))
            pars.append(
                f'    <par id="par-{segment.seq}">\n'
                f'      <text src="../{chapter_href}#{anchor}"/>\n'
                f'      <audio src="../{audio_href}" clipBegin="0:00:00.000"'
                f' clipEnd="{_clock(millis)}"/>\n'
                "    </par>"
            )
            self.overlay_ms[chapter_href] = self.overlay_ms.get(chapter_href, 0) + millis
        return "\n".join(html)

    def chapter(self, chapter: Chapter) -> None:
        href = f"chapter-{chapter.number:03d}.xhtml"
        heading_id = f"chapter-{chapter.number}"
        pars: list[str] = []
        segments = "\n".join(self.segment_html(s, href, pars) for s in chapter.segments)
        body = (
            f'<section id="{heading_id}-text" epub:type="chapter" aria-labelledby="{heading_id}">\n'
            f'<h1 id="{heading_id}">{_text(chapter.title)}</h1>\n{segments}\n</section>\n'
        )
        overlay = ""
        if pars:
            overlay = f"mo-{chapter.number:03d}"
            smil = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops"'
                ' version="3.0">\n  <body>\n'
                f'  <seq id="seq-{chapter.number}" epub:textref="../{href}#{heading_id}-text"'
                ' epub:type="chapter">\n' + "\n".join(pars) + "\n  </seq>\n  </body>\n</smil>\n"
            )
            self.add(
                overlay,
                f"overlays/chapter-{chapter.number:03d}.smil",
                "application/smil+xml",
                smil.encode(),
            )
        self.add(
            f"chapter-{chapter.number:03d}",
            href,
            "application/xhtml+xml",
            self.page(chapter.title, body),
            overlay=overlay,
            in_spine=True,
        )

    def colophon(self) -> None:
        m = self.manuscript
        people = "\n".join(
            f"<li>{_text(credit.name)} — {_text(ROLE_LABELS[credit.role])}</li>"
            for credit in m.collaborators
        )
        facts = "\n".join(f"<p>{_text(line)}</p>" for line in colophon_lines(m))
        body = (
            '<section epub:type="colophon">\n<h1>About this book</h1>\n'
            f"<p>{_text(m.title)}</p>\n"
            + (f"<ul>\n{people}\n</ul>\n" if people else "")
            + f"{facts}\n</section>\n"
        )
        self.add(
            "colophon",
            "colophon.xhtml",
            "application/xhtml+xml",
            self.page("About this book", body),
            in_spine=True,
        )

    def nav(self) -> None:
        toc = ['<li><a href="title.xhtml">Title page</a></li>']
        toc += [
            f'<li><a href="chapter-{c.number:03d}.xhtml">{_text(c.title)}</a></li>'
            for c in self.chapters
        ]
        toc.append('<li><a href="colophon.xhtml">About this book</a></li>')
        landmarks = [
            '<li><a epub:type="cover" href="cover.xhtml">Cover</a></li>',
            '<li><a epub:type="titlepage" href="title.xhtml">Title page</a></li>',
        ]
        if self.chapters:
            landmarks.append(
                '<li><a epub:type="bodymatter" href="chapter-001.xhtml">Story</a></li>'
            )
        body = (
            '<nav epub:type="toc" id="toc">\n<h1>Contents</h1>\n<ol>\n'
            + "\n".join(toc)
            + '\n</ol>\n</nav>\n<nav epub:type="landmarks" id="landmarks" hidden="hidden">\n'
            "<h1>Landmarks</h1>\n<ol>\n" + "\n".join(landmarks) + "\n</ol>\n</nav>\n"
        )
        self.add(
            "nav",
            "nav.xhtml",
            "application/xhtml+xml",
            self.page("Contents", body),
            properties="nav",
        )

    # -- package ----------------------------------------------------------------

    def metadata(self) -> str:
        m = self.manuscript
        lines = [
            f'    <dc:identifier id="book-id">{book_identifier(m)}</dc:identifier>',
            f"    <dc:title>{_text(m.title)}</dc:title>",
            f"    <dc:language>{_text(self.language)}</dc:language>",
            f"    <dc:date>{display_date(m.modified_at)}</dc:date>",
            f'    <meta property="dcterms:modified">{_w3c(m.modified_at)}</meta>',
            f'    <meta property="dcterms:created">{_w3c(m.created_at)}</meta>',
        ]
        if m.completed_at is not None:
            lines.append(f'    <meta property="dcterms:dateAccepted">{_w3c(m.completed_at)}</meta>')
        if m.premise.strip():
            lines.append(f"    <dc:description>{_text(m.premise)}</dc:description>")
        for index, credit in enumerate(writers(m), start=1):
            lines.append(f'    <dc:creator id="creator-{index}">{_text(credit.name)}</dc:creator>')
            lines.append(
                f'    <meta refines="#creator-{index}" property="role" scheme="marc:relators">'
                f"{_MARC_ROLES[credit.role]}</meta>"
            )
        lines.append(f"    <dc:publisher>{GENERATOR}</dc:publisher>")
        lines.append(
            f'    <meta property="schema:contentRating">{_CONTENT_RATING[m.age_rating]}</meta>'
        )
        if m.age_rating in _TYPICAL_AGE_RANGE:
            lines.append(
                '    <meta property="schema:typicalAgeRange">'
                f"{_TYPICAL_AGE_RANGE[m.age_rating]}</meta>"
            )
        status = "Draft" if m.draft else "Published"
        lines.append(f'    <meta property="schema:creativeWorkStatus">{status}</meta>')
        lines += self.accessibility()
        if self.overlay_ms:
            total = sum(self.overlay_ms.values())
            for chapter in self.chapters:
                href = f"chapter-{chapter.number:03d}.xhtml"
                if href in self.overlay_ms:
                    lines.append(
                        f'    <meta property="media:duration" refines="#mo-{chapter.number:03d}">'
                        f"{_clock(self.overlay_ms[href])}</meta>"
                    )
            lines.append(f'    <meta property="media:duration">{_clock(total)}</meta>')
            lines.append(f'    <meta property="media:active-class">{ACTIVE_CLASS}</meta>')
        return "\n".join(lines)

    def accessibility(self) -> list[str]:
        has_images = any(s.illustration is not None for s in self.manuscript.segments)
        features = (
            ["structuralNavigation", "alternativeText"] if has_images else ["structuralNavigation"]
        )
        if self.overlay_ms:
            features.append("synchronizedAudioText")
        modes = ["textual", "visual"]
        lines = [f'    <meta property="schema:accessMode">{mode}</meta>' for mode in modes]
        lines.append('    <meta property="schema:accessModeSufficient">textual</meta>')
        lines += [f'    <meta property="schema:accessibilityFeature">{f}</meta>' for f in features]
        lines.append('    <meta property="schema:accessibilityHazard">none</meta>')
        return lines

    def package(self) -> bytes:
        progression = f' page-progression-direction="{self.direction}"'
        opf = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"'
            f' unique-identifier="book-id" xml:lang={_attr(self.language)}'
            f' dir="{self.direction}">\n'
            '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
            f"{self.metadata()}\n  </metadata>\n"
            "  <manifest>\n"
            '    <item id="css" href="style.css" media-type="text/css"/>\n'
            + "\n".join(self.manifest)
            + f"\n  </manifest>\n  <spine{progression}>\n"
            + "\n".join(self.spine)
            + "\n  </spine>\n</package>\n"
        )
        return opf.encode()


def write_epub(manuscript: Manuscript, *, max_segments_per_chapter: int = 25) -> bytes:
    """The EPUB 3 bytes for ``manuscript``; identical input gives identical bytes."""
    check_manuscript(manuscript)
    book = _Book(manuscript, max_segments_per_chapter)
    book.cover()
    book.title_page()
    for chapter in book.chapters:
        book.chapter(chapter)
    book.colophon()
    book.nav()
    package = book.package()
    entries = [
        Entry("mimetype", b"application/epub+zip", compress=False),
        Entry("META-INF/container.xml", CONTAINER_XML, compress=True),
        Entry("EPUB/package.opf", package, compress=True),
        Entry("EPUB/style.css", STYLESHEET.encode(), compress=True),
        *book.entries,
    ]
    return zip_container(entries, manuscript.modified_at)
