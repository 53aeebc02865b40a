"""Books built from stories pass the real validators and say what the story says.

Each book is built once per module and checked by epubcheck (0 errors, 0
warnings), ``qpdf --check``, ``pdftotext`` (every segment's text, in order)
and ``pdfinfo`` (page count, page size, metadata).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from storyhub.books.assemble import SegmentFacts, StoryFacts, assemble_manuscript
from storyhub.books.build import build_epub, build_pdf
from storyhub.books.chapters import split_into_chapters
from storyhub.books.credits import Contributor
from storyhub.books.manuscript import Illustration, Manuscript, Narration
from tests.integration.books.support import (
    COMPLETED,
    CREATED,
    assert_in_order,
    body_text,
    epubcheck,
    expected_needles,
    jpeg,
    narration_mp3,
    pdf_info,
    pdf_pages,
    pdf_text_pages,
    png,
    qpdf_check,
    require_tool,
    run,
    squash,
)

STORY_ID = "7d4f1f52-3c1e-4b7a-9f59-0a8d2c9e5b11"
OWNER = Contributor(user_id="owner-1", display_name="Sam Rivera", role="owner")
CHILD_NAME = "Emma Realchild"
CHILD_EMAIL = "emma.realchild@example.org"
CHILD = Contributor(
    user_id="child-1", display_name=CHILD_NAME, is_minor=True, pseudonym="Brave Otter 17"
)

ENGLISH = [
    "Once upon a time, a small fox named Pip lived at the edge of a very dark forest.",
    "Every night Pip counted the stars & wondered what lay <beyond> the trees.",
    "One morning a letter arrived, sealed with wax the colour of autumn leaves.",
    "“Come to the mountain,” it said, “and bring the lantern your grandmother left you.”",
    "So Pip packed bread, a blanket and the lantern.\n\nThe road was long.",
]
ARABIC = [
    "كان يا ما كان، في قديم الزمان، ثعلب صغير يعيش على حافة غابة مظلمة.",
    "كل ليلة كان يعد النجوم ويتساءل عما يوجد وراء الأشجار.",
    "في صباح أحد الأيام وصلت رسالة مختومة بالشمع.",
]
HEBREW = [
    "היה היה פעם שועל קטן שגר בקצה של יער חשוך מאוד.",
    "בכל לילה הוא ספר את הכוכבים ותהה מה יש מעבר לעצים.",
    "בוקר אחד הגיע מכתב חתום בשעווה.",
]


def story_facts(
    language: str = "en",
    *,
    title: str = "The Fox and the Lantern",
    completed: bool = True,
    cover: Illustration | None = None,
) -> StoryFacts:
    return StoryFacts(
        identifier=STORY_ID,
        title=title,
        premise="A small fox sets out to find where the stars go in the morning.",
        language=language,
        age_rating="allAges",
        created_at=CREATED,
        completed_at=COMPLETED if completed else None,
        cover=cover,
    )


def rotating_segments(
    texts: list[str],
    count: int,
    authors: list[str | None],
    *,
    illustration: Callable[[int], Illustration | None] = lambda seq: None,
    narration: Callable[[int], Narration | None] = lambda seq: None,
) -> list[SegmentFacts]:
    """``count`` segments cycling through ``texts`` and ``authors``, numbered so each is unique."""
    return [
        SegmentFacts(
            seq=seq,
            author_id=authors[seq % len(authors)],
            text=f"{texts[seq % len(texts)]} ({seq})",
            illustration=illustration(seq),
            narration=narration(seq),
        )
        for seq in range(1, count + 1)
    ]


def epub_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def assert_epub_clean(path: Path) -> None:
    report = epubcheck(path)
    assert report.clean, "\n".join(report.messages)


def assert_pdf_valid(path: Path, manuscript: Manuscript) -> list[str]:
    checked = qpdf_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors found" in checked.stdout
    pages = pdf_text_pages(path)
    assert_in_order(body_text(pages), expected_needles(manuscript))
    return pages


# --- a finished story without media ---------------------------------------------------


@pytest.fixture(scope="module")
def plain() -> Manuscript:
    segments = rotating_segments(ENGLISH, 40, ["owner-1", None])
    return assemble_manuscript(story_facts(), [OWNER], segments)


class TestPlainStory:
    def test_epub_passes_epubcheck_with_no_errors_or_warnings(
        self, plain: Manuscript, tmp_path: Path
    ) -> None:
        assert_epub_clean(write(tmp_path, "plain.epub", build_epub(plain)))

    def test_epub_has_cover_title_nav_chapters_colophon_and_metadata(
        self, plain: Manuscript
    ) -> None:
        entries = epub_entries(build_epub(plain))
        names = list(entries)
        assert names[0] == "mimetype"
        assert entries["mimetype"] == b"application/epub+zip"
        for required in ("EPUB/cover.xhtml", "EPUB/title.xhtml", "EPUB/nav.xhtml",
                         "EPUB/colophon.xhtml", "EPUB/images/cover.png"):  # fmt: skip
            assert required in entries
        chapters = sorted(n for n in names if re.fullmatch(r"EPUB/chapter-\d{3}\.xhtml", n))
        assert len(chapters) == 2  # 40 segments, 25 per chapter
        nav = entries["EPUB/nav.xhtml"].decode()
        assert all(c.removeprefix("EPUB/") in nav for c in chapters)
        opf = entries["EPUB/package.opf"].decode()
        assert "<dc:language>en</dc:language>" in opf
        assert 'property="dcterms:modified">2026-11-20T18:45:00Z<' in opf
        assert 'property="dcterms:created">2026-11-01T09:30:00Z<' in opf
        assert 'property="schema:contentRating">all ages<' in opf
        assert "Published</meta>" in opf
        assert 'properties="cover-image"' in opf
        colophon = entries["EPUB/colophon.xhtml"].decode()
        assert "Sam Rivera — author" in colophon
        assert "the narrator — AI narrator" in colophon
        chapter_one = entries[chapters[0]].decode()
        assert chapter_one.count('<p class="credit">') == 25

    @pytest.mark.parametrize(
        ("page_size", "points"), [("A5", "419.528 x 595.276"), ("letter", "612 x 792")]
    )
    def test_pdf_passes_qpdf_and_holds_every_segment_in_order(
        self, plain: Manuscript, tmp_path: Path, page_size: str, points: str
    ) -> None:
        path = write(tmp_path, f"plain-{page_size}.pdf", build_pdf(plain, page_size))  # type: ignore[arg-type]
        pages = assert_pdf_valid(path, plain)
        assert f"Page size:       {points} pts" in pdf_info(path)
        # cover + title page + 2 chapters of 20/25 short segments + colophon.
        assert 5 <= pdf_pages(path) <= 20
        assert squash(plain.title) in squash(pages[1])
        # Page numbers are printed from the first chapter on.
        assert pages[2].strip().splitlines()[-1].strip() == "3"

    def test_pdf_embeds_every_font(self, plain: Manuscript, tmp_path: Path) -> None:
        path = write(tmp_path, "fonts.pdf", build_pdf(plain))
        listing = run(require_tool("pdffonts"), str(path)).stdout.splitlines()[2:]
        assert listing, "no fonts listed"
        for line in listing:
            columns = line.split()
            assert columns[-5] == "yes", f"font not embedded: {line}"

    def test_rebuilding_gives_identical_bytes(self, plain: Manuscript) -> None:
        assert build_epub(plain) == build_epub(plain)
        assert build_pdf(plain, "A5") == build_pdf(plain, "A5")
        assert build_pdf(plain, "letter") == build_pdf(plain, "letter")

    def test_epub_timestamps_come_from_the_story_not_the_clock(self, plain: Manuscript) -> None:
        with zipfile.ZipFile(io.BytesIO(build_epub(plain))) as archive:
            assert {info.date_time for info in archive.infolist()} == {(2026, 11, 20, 18, 45, 0)}
            assert archive.getinfo("mimetype").compress_type == zipfile.ZIP_STORED


# --- illustrations, cover art and narration ----------------------------------------------


@pytest.fixture(scope="module")
def illustrated(tmp_path_factory: pytest.TempPathFactory) -> Manuscript:
    audio = narration_mp3(tmp_path_factory.mktemp("audio"))
    segments = rotating_segments(
        ENGLISH,
        30,
        ["owner-1", None],
        illustration=lambda seq: (
            (png(seed=seq) if seq % 3 else jpeg(seq)) if seq % 4 == 0 else None
        ),
        narration=lambda seq: audio if seq % 5 == 0 else None,
    )
    segments[10] = SegmentFacts(seq=11, author_id="owner-1", text="* * *")  # a scene break
    return assemble_manuscript(story_facts(cover=png(300, 450, seed=99)), [OWNER], segments)


class TestMedia:
    def test_epub_with_illustrations_and_narration_passes_epubcheck(
        self, illustrated: Manuscript, tmp_path: Path
    ) -> None:
        assert_epub_clean(write(tmp_path, "media.epub", build_epub(illustrated)))

    def test_every_illustration_is_embedded_and_shown(self, illustrated: Manuscript) -> None:
        entries = epub_entries(build_epub(illustrated))
        pictured = [s for s in illustrated.segments if s.illustration is not None]
        assert len(pictured) == 7
        assert entries["EPUB/images/cover.png"] == illustrated.cover.data  # type: ignore[union-attr]
        pages = "".join(v.decode() for k, v in entries.items() if k.endswith(".xhtml"))
        for segment in pictured:
            extension = "png" if segment.illustration.mime == "image/png" else "jpg"  # type: ignore[union-attr]
            href = f"images/seg-{segment.seq:06d}.{extension}"
            assert entries[f"EPUB/{href}"] == segment.illustration.data  # type: ignore[union-attr]
            assert f'src="{href}"' in pages

    def test_narration_becomes_media_overlays_a_reader_can_follow(
        self, illustrated: Manuscript
    ) -> None:
        entries = epub_entries(build_epub(illustrated))
        narrated = [s for s in illustrated.segments if s.narration is not None]
        smil = "".join(v.decode() for k, v in entries.items() if k.endswith(".smil"))
        pars = re.findall(r'<text src="\.\./(chapter-\d+\.xhtml)#(seg-\d+)"/>', smil)
        assert [anchor for _, anchor in pars] == [f"seg-{s.seq}" for s in narrated]
        for page, anchor in pars:
            assert f'id="{anchor}"' in entries[f"EPUB/{page}"].decode()
        opf = entries["EPUB/package.opf"].decode()
        total = re.search(r'<meta property="media:duration">([\d:.]+)</meta>', opf)
        assert total is not None
        h, m, s = total.group(1).split(":")
        expected = sum(round(n.narration.duration_seconds * 1000) for n in narrated) / 1000  # type: ignore[union-attr]
        assert abs(int(h) * 3600 + int(m) * 60 + float(s) - expected) < 0.002
        assert re.search(r'media-overlay="mo-\d{3}"', opf)

    def test_pdf_with_illustrations_is_valid_and_shows_every_picture(
        self, illustrated: Manuscript, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "media.pdf", build_pdf(illustrated, "letter"))
        assert_pdf_valid(path, illustrated)
        listing = run(require_tool("pdfimages"), "-list", str(path)).stdout.splitlines()[2:]
        pictured = sum(1 for s in illustrated.segments if s.illustration is not None)
        assert len([line for line in listing if " image " in line]) == pictured + 1  # + cover


# --- a child co-author -----------------------------------------------------------------


@pytest.fixture(scope="module")
def with_child() -> Manuscript:
    segments = rotating_segments(ENGLISH, 12, ["owner-1", "child-1", None])
    return assemble_manuscript(story_facts(), [OWNER, CHILD], segments)


class TestChildCoauthor:
    def forbidden(self) -> list[str]:
        return [CHILD_NAME, "Emma", "Realchild", CHILD_EMAIL, "child-1"]

    def test_epub_never_contains_the_childs_name_or_email(
        self, with_child: Manuscript, tmp_path: Path
    ) -> None:
        data = build_epub(with_child)
        assert_epub_clean(write(tmp_path, "child.epub", data))
        text = "".join(
            v.decode() for k, v in epub_entries(data).items() if not k.startswith("EPUB/images")
        )
        for secret in self.forbidden():
            assert secret.casefold() not in text.casefold()
        assert text.count("— Brave Otter 17</p>") == 4  # segments 1, 4, 7, 10
        assert "Brave Otter 17 — author" in text

    def test_pdf_text_and_metadata_never_contain_the_childs_name_or_email(
        self, with_child: Manuscript, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "child.pdf", build_pdf(with_child))
        pages = assert_pdf_valid(path, with_child)
        visible = "\n".join(pages) + pdf_info(path)
        raw = path.read_bytes()
        for secret in self.forbidden():
            assert secret.casefold() not in visible.casefold()
            assert secret.encode() not in raw
        assert "Brave Otter 17" in visible

    def test_cover_names_the_pseudonym_not_the_child(self, with_child: Manuscript) -> None:
        # The drawn cover is pixels; its byline comes from the same credits.
        assert [c.name for c in with_child.collaborators] == [
            "Sam Rivera",
            "Brave Otter 17",
            "the narrator",
        ]


# --- Unicode and right-to-left ---------------------------------------------------------


@pytest.fixture(scope="module", params=["ar", "he"])
def right_to_left(request: pytest.FixtureRequest) -> Manuscript:
    texts = ARABIC if request.param == "ar" else HEBREW
    title = "الثعلب والفانوس" if request.param == "ar" else "השועל והפנס"
    segments = rotating_segments(
        texts,
        30,
        ["owner-1", "child-1", None],
        illustration=lambda seq: png(seed=seq) if seq == 7 else None,
    )
    pseudonymous = Contributor(user_id="child-1", display_name="Dana", is_minor=True,
                               pseudonym="نجمة" if request.param == "ar" else "כוכב")  # fmt: skip
    return assemble_manuscript(
        story_facts(request.param, title=title), [OWNER, pseudonymous], segments
    )


class TestRightToLeft:
    def test_epub_is_valid_and_marked_right_to_left(
        self, right_to_left: Manuscript, tmp_path: Path
    ) -> None:
        data = build_epub(right_to_left)
        assert_epub_clean(write(tmp_path, "rtl.epub", data))
        entries = epub_entries(data)
        opf = entries["EPUB/package.opf"].decode()
        assert '<spine page-progression-direction="rtl">' in opf
        assert f"<dc:language>{right_to_left.language}</dc:language>" in opf
        chapter = entries["EPUB/chapter-001.xhtml"].decode()
        assert f'lang="{right_to_left.language}" dir="rtl"' in chapter
        assert right_to_left.segments[0].text in chapter

    def test_pdf_holds_every_rtl_segment_in_logical_order(
        self, right_to_left: Manuscript, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "rtl.pdf", build_pdf(right_to_left))
        assert_pdf_valid(path, right_to_left)
        assert 4 <= pdf_pages(path) <= 15

    def test_long_rtl_paragraph_wraps_and_keeps_its_words_in_order(self, tmp_path: Path) -> None:
        long_text = " ".join(ARABIC * 12)
        manuscript = assemble_manuscript(
            story_facts("ar"), [OWNER], [SegmentFacts(seq=1, author_id="owner-1", text=long_text)]
        )
        path = write(tmp_path, "long-rtl.pdf", build_pdf(manuscript))
        pages = assert_pdf_valid(path, manuscript)
        lines = [line for page in pages for line in page.splitlines() if squash(line)]
        assert sum(1 for line in lines if re.search("[\u0600-\u06ff\ufe70-\ufeff]", line)) > 5


class TestUnicode:
    def test_many_scripts_survive_in_both_formats(self, tmp_path: Path) -> None:
        texts = [
            "Zoë’s café served crème brûlée — naïve, façade, Ångström.",  # noqa: RUF001
            "Ελληνικά: ο μικρός αλεπού. Русский: маленький лис. Українська: ґанок.",  # noqa: RUF001
            "Mixed line: the fox said مرحبا then שלום and left.",
            "مرحبا: a right-to-left paragraph in an English book.",
        ]
        manuscript = assemble_manuscript(
            story_facts(), [OWNER], rotating_segments(texts, 8, ["owner-1"])
        )
        epub = write(tmp_path, "unicode.epub", build_epub(manuscript))
        assert_epub_clean(epub)
        chapter = epub_entries(epub.read_bytes())["EPUB/chapter-001.xhtml"].decode()
        assert '<p dir="rtl">مرحبا: a right-to-left' in chapter
        assert_pdf_valid(write(tmp_path, "unicode.pdf", build_pdf(manuscript)), manuscript)

    def test_emoji_and_cjk_are_kept_in_the_epub_and_left_out_of_the_pdf(
        self, tmp_path: Path
    ) -> None:
        text = "The fox 🦊 met a crane 鶴 under the stars ✨ and smiled."
        manuscript = assemble_manuscript(
            story_facts(title="Stars ✨"),
            [OWNER],
            [SegmentFacts(seq=1, author_id="owner-1", text=text)],
        )
        epub = write(tmp_path, "emoji.epub", build_epub(manuscript))
        assert_epub_clean(epub)
        assert text in epub_entries(epub.read_bytes())["EPUB/chapter-001.xhtml"].decode()
        path = write(tmp_path, "emoji.pdf", build_pdf(manuscript))
        assert qpdf_check(path).returncode == 0
        assert squash("The fox met a crane under the stars and smiled.") in body_text(
            pdf_text_pages(path)
        )


# --- drafts ----------------------------------------------------------------------------


class TestDraft:
    def test_draft_is_marked_on_title_page_and_in_metadata(self, tmp_path: Path) -> None:
        manuscript = assemble_manuscript(
            story_facts(completed=False),
            [OWNER],
            rotating_segments(ENGLISH, 5, ["owner-1"]),
            draft=True,
        )
        data = build_epub(manuscript)
        assert_epub_clean(write(tmp_path, "draft.epub", data))
        entries = epub_entries(data)
        assert "Draft — this story is not finished yet." in entries["EPUB/title.xhtml"].decode()
        opf = entries["EPUB/package.opf"].decode()
        assert "Draft</meta>" in opf
        assert 'property="dcterms:modified">2026-11-01T09:30:00Z<' in opf
        path = write(tmp_path, "draft.pdf", build_pdf(manuscript))
        pages = assert_pdf_valid(path, manuscript)
        assert "Draft — this story is not finished yet." in pages[1]
        assert re.search(r"^Title:\s+The Fox and the Lantern \(draft\)$", pdf_info(path), re.M)


# --- a 1,000-segment story -------------------------------------------------------------


@pytest.fixture(scope="module")
def thousand() -> Manuscript:
    texts = [*ENGLISH, *ARABIC[:1], "Ελληνικά και Русский текст (mixed)."]
    segments = rotating_segments(
        texts, 1000, ["owner-1", "child-1", None],
        illustration=lambda seq: png(seed=seq) if seq % 50 == 0 else None,
    )  # fmt: skip
    # Writers' own structure: a scene break and a chapter heading.
    segments[299] = SegmentFacts(seq=300, author_id="owner-1", text="* * *")
    segments[599] = SegmentFacts(seq=600, author_id="owner-1", text="Chapter Nine: Home\nAt last.")
    return assemble_manuscript(story_facts(), [OWNER, CHILD], segments)


class TestThousandSegments:
    def test_epub_is_valid(self, thousand: Manuscript, tmp_path: Path) -> None:
        data = build_epub(thousand)
        assert_epub_clean(write(tmp_path, "thousand.epub", data))
        chapters = [n for n in epub_entries(data) if re.fullmatch(r"EPUB/chapter-\d+\.xhtml", n)]
        assert 40 <= len(chapters) <= 42
        assert "Chapter Nine: Home" in epub_entries(data)["EPUB/nav.xhtml"].decode()

    def test_pdf_is_valid_complete_and_of_sane_length(
        self, thousand: Manuscript, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "thousand.pdf", build_pdf(thousand))
        assert_pdf_valid(path, thousand)
        pages = pdf_pages(path)
        chapters = len(split_into_chapters(thousand.segments))
        pictures = sum(1 for s in thousand.segments if s.illustration is not None)
        # Each chapter opens a page (plus cover, title page, colophon); a page holds
        # at least four of these one-line segments, and each picture costs at most a page.
        assert chapters + 3 <= pages <= 1000 // 4 + chapters + pictures + 3
