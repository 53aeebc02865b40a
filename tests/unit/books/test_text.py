"""Text helpers: cleaning, paragraphs, direction and visual order for RTL lines."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.books.text import (
    clean_text,
    guess_language,
    has_rtl,
    language_direction,
    paragraphs,
    text_direction,
    visual_line,
    wrap_words,
)


class TestCleaning:
    def test_control_characters_are_removed_and_text_is_nfc(self) -> None:
        assert clean_text("a\x00b\x07c\x1b\x85") == "abc"
        assert clean_text("e\u0301") == "\u00e9"

    def test_one_newline_is_a_soft_break_two_start_a_paragraph(self) -> None:
        assert paragraphs("one\ntwo\r\n\r\n  three  \n\n\n") == ["one two", "three"]
        assert paragraphs(" \n\t\n") == []


class TestDirection:
    @pytest.mark.parametrize(
        ("tag", "direction"),
        [("en", "ltr"), ("ar", "rtl"), ("he-IL", "rtl"), ("fa_IR", "rtl"), ("ku-Arab", "rtl"),
         ("ku", "ltr"), ("fr-CA", "ltr"), ("yi", "rtl")],
    )  # fmt: skip
    def test_language_direction(self, tag: str, direction: str) -> None:
        assert language_direction(tag) == direction

    def test_text_direction_follows_the_first_strong_character(self) -> None:
        assert text_direction("123 שלום hello") == "rtl"
        assert text_direction("hello שלום") == "ltr"
        assert text_direction("123 !", default="rtl") == "rtl"
        assert has_rtl("hi مرحبا")
        assert not has_rtl("hi there 123")


class TestVisualLine:
    def test_ltr_text_is_unchanged(self) -> None:
        assert visual_line("Hello (world)") == "Hello (world)"

    def test_hebrew_is_reversed_and_brackets_mirrored(self) -> None:
        """Rule L4: in an RTL run "(" is drawn with the ")" glyph."""
        assert visual_line("אב (5)", "rtl") == "(5) בא"

    def test_arabic_is_joined_into_presentation_forms(self) -> None:
        shown = visual_line("مرحبا", "rtl")
        assert all(unicodedata.name(c).startswith("ARABIC LETTER") for c in shown)
        assert any("FORM" in unicodedata.name(c) for c in shown)
        # Reading the drawn glyphs right to left gives the word back.
        assert unicodedata.normalize("NFKC", shown[::-1]) == "مرحبا"

    def test_rtl_word_inside_ltr_line_is_reversed_in_place(self) -> None:
        assert visual_line("say שלום now", "ltr") == "say םולש now"


class TestGuessLanguage:
    def test_mostly_arabic_or_hebrew_letters_give_ar_or_he(self) -> None:
        assert guess_language(["مرحبا بالعالم", "ok"]) == "ar"
        assert guess_language(["שלום עולם", "hi"]) == "he"

    def test_anything_else_gives_the_default(self) -> None:
        assert guess_language(["Hello there", "שלום"]) == "en"
        assert guess_language([], default="fr") == "fr"
        assert guess_language(["123 !!"]) == "en"


class TestWrapWords:
    @staticmethod
    def fits(limit: int) -> Callable[[str], bool]:
        return lambda line: len(line) <= limit

    def test_words_fill_lines_greedily(self) -> None:
        assert wrap_words("aa bb cc dd", self.fits(5)) == ["aa bb", "cc dd"]

    def test_an_overlong_word_is_cut_into_pieces_that_fit(self) -> None:
        assert wrap_words("x abcdefghij y", self.fits(4)) == ["x", "abcd", "efgh", "ij y"]

    @given(st.lists(st.text(st.characters(blacklist_categories=("Zs", "Cc")), min_size=1,
                            max_size=30), max_size=20), st.integers(1, 12))  # fmt: skip
    def test_every_line_fits_and_no_character_is_lost(self, words: list[str], limit: int) -> None:
        text = " ".join(words)
        lines = wrap_words(text, self.fits(limit))
        assert all(len(line) <= limit for line in lines)
        assert "".join("".join(lines).split()) == "".join(text.split())
