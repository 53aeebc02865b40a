"""Splitting segments into chapters: scene breaks, "Chapter" headings, every N."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.books.chapters import (
    chapter_heading,
    is_scene_break,
    split_into_chapters,
)
from storyhub.books.manuscript import Illustration, Segment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def seg(seq: int, text: str, **media: object) -> Segment:
    return Segment(seq=seq, text=text, credit="Sam", **media)  # type: ignore[arg-type]


def seqs(chapter: object) -> list[int]:
    return [s.seq for s in chapter.segments]  # type: ignore[attr-defined]


class TestMarkers:
    @pytest.mark.parametrize(
        "text", ["* * *", "***", "  *  *  *  ", "---", "- - -", "#", "⁂", "~~~"]
    )
    def test_scene_break_markers_are_recognised(self, text: str) -> None:
        """A segment that is only a scene-break marker is a break."""
        assert is_scene_break(text)

    @pytest.mark.parametrize("text", ["**", "* * * and then", "The end.", "", "#hashtag", "--"])
    def test_ordinary_text_is_not_a_scene_break(self, text: str) -> None:
        """Text around or shorter than a marker is story text."""
        assert not is_scene_break(text)

    def test_chapter_heading_splits_title_from_text(self) -> None:
        """The first line is the title; the rest is the chapter's first text."""
        assert chapter_heading("Chapter 2: The Cave\nThey went in.") == (
            "Chapter 2: The Cave",
            "They went in.",
        )
        assert chapter_heading("CHAPTER TWO") == ("CHAPTER TWO", "")

    @pytest.mark.parametrize("text", ["Chapters are fun", "The chapter ends", "chapterhouse"])
    def test_words_merely_containing_chapter_are_not_headings(self, text: str) -> None:
        """Only a segment that *starts* with the word "Chapter" opens a chapter."""
        assert chapter_heading(text) is None


class TestSplitting:
    def test_unmarked_story_is_cut_every_n_segments(self) -> None:
        """Without markers, chapters hold at most ``max_segments`` segments."""
        chapters = split_into_chapters([seg(i, f"text {i}") for i in range(1, 8)], max_segments=3)
        assert [seqs(c) for c in chapters] == [[1, 2, 3], [4, 5, 6], [7]]
        assert [c.title for c in chapters] == ["Chapter 1", "Chapter 2", "Chapter 3"]
        assert [c.number for c in chapters] == [1, 2, 3]

    def test_scene_break_ends_a_chapter_and_is_not_printed(self) -> None:
        """The marker segment closes the chapter and appears in none."""
        chapters = split_into_chapters([seg(1, "a"), seg(2, "* * *"), seg(3, "b")])
        assert [seqs(c) for c in chapters] == [[1], [3]]

    def test_heading_segment_titles_the_new_chapter(self) -> None:
        """The heading's title names the chapter; its remaining text opens it."""
        chapters = split_into_chapters(
            [seg(1, "a"), seg(2, "Chapter 2: The Cave\nThey went in."), seg(3, "b")]
        )
        assert [c.title for c in chapters] == ["Chapter 1", "Chapter 2: The Cave"]
        assert chapters[1].segments[0].text == "They went in."
        assert seqs(chapters[1]) == [2, 3]

    def test_heading_only_segment_is_dropped_unless_it_has_media(self) -> None:
        """A bare heading is structure; a heading with an illustration keeps its picture."""
        picture = Illustration(data=PNG, mime="image/png")
        chapters = split_into_chapters([seg(1, "Chapter One"), seg(2, "a"), seg(3, "Chapter Two")])
        assert [seqs(c) for c in chapters] == [[2]]
        chapters = split_into_chapters(
            [seg(1, "Chapter One"), seg(2, "a"), seg(3, "Chapter Two", illustration=picture),
             seg(4, "b")]
        )  # fmt: skip
        assert [seqs(c) for c in chapters] == [[2], [3, 4]]
        assert chapters[1].segments[0].text == ""

    def test_consecutive_markers_make_no_empty_chapters(self) -> None:
        """Two breaks in a row, or a break first, produce no empty chapter."""
        chapters = split_into_chapters([seg(1, "***"), seg(2, "a"), seg(3, "***"), seg(4, "***")])
        assert [seqs(c) for c in chapters] == [[2]]
        assert chapters[0].number == 1

    def test_empty_story_has_no_chapters(self) -> None:
        assert split_into_chapters([]) == ()

    def test_max_segments_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            split_into_chapters([seg(1, "a")], max_segments=0)


texts = st.one_of(
    st.sampled_from(["* * *", "***", "Chapter X", "Chapter 9: Title\nbody"]),
    st.text(min_size=1, max_size=20),
)


@given(st.lists(texts, max_size=60), st.integers(min_value=1, max_value=7))
def test_every_story_segment_appears_once_in_order(items: list[str], limit: int) -> None:
    """Property: printed segments keep story order, none is lost or duplicated,
    no chapter is empty or longer than the limit, chapters are numbered 1..n."""
    segments = [seg(i, text) for i, text in enumerate(items, start=1)]
    chapters = split_into_chapters(segments, max_segments=limit)
    printed = [s.seq for c in chapters for s in c.segments]
    expected = [
        s.seq
        for s in segments
        if not is_scene_break(s.text)
        and (chapter_heading(s.text) is None or chapter_heading(s.text)[1])  # type: ignore[index]
    ]
    assert printed == expected
    assert all(1 <= len(c.segments) <= limit for c in chapters)
    assert [c.number for c in chapters] == list(range(1, len(chapters) + 1))
