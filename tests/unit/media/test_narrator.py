"""The built-in narrator: deterministic, in character, gentle."""

from __future__ import annotations

import re

import pytest

from storyhub.media.narrator import MODEL_NAME, continue_story, extract_characters

PREMISE = "Two friends look for a lost lantern in an enchanted forest."
SEGMENTS = (
    "Once upon a time, Mia and her dog Pip lived at the edge of a forest.",
    "One evening Mia heard a whisper between the trees. Pip wagged his tail.",
)


class TestCharacters:
    def test_names_mentioned_mid_sentence_are_characters(self) -> None:
        assert extract_characters(SEGMENTS) == ["Mia", "Pip"]

    def test_common_capitalised_words_are_not_characters(self) -> None:
        text = ["The sun rose. Then they left. Suddenly it rained. Once more, They waited."]
        assert extract_characters(text) == []

    def test_sentence_initial_word_alone_is_not_a_character(self) -> None:
        assert extract_characters(["Walking home, the children sang."]) == []

    def test_x_and_y_at_sentence_start_are_both_characters(self) -> None:
        assert extract_characters(["Leo and Ada built a boat."]) == ["Leo", "Ada"]

    def test_most_mentioned_comes_first(self) -> None:
        text = ["Then Bo met Kit. Later Kit waved, and Kit laughed."]
        assert extract_characters(text) == ["Kit", "Bo"]

    def test_possessive_counts_as_the_name(self) -> None:
        assert extract_characters(["It was Zoe's hat, said Zoe."]) == ["Zoe"]


class TestContinuation:
    def test_same_input_gives_same_text(self) -> None:
        assert continue_story(PREMISE, SEGMENTS) == continue_story(PREMISE, SEGMENTS)

    def test_different_story_gives_different_text(self) -> None:
        other = (*SEGMENTS[:1], "One morning Mia found a map under her pillow.")
        assert continue_story(PREMISE, SEGMENTS) != continue_story(PREMISE, other)

    def test_uses_the_story_characters(self) -> None:
        text = continue_story(PREMISE, SEGMENTS)
        assert "Mia" in text

    def test_second_character_takes_part(self) -> None:
        # Over several stories the friend appears: the template bank always adds a friend line.
        texts = [continue_story(PREMISE, (*SEGMENTS, f"Part {i}.")) for i in range(5)]
        assert all("Pip" in t for t in texts)

    def test_without_names_a_companion_is_introduced_then_referred_to(self) -> None:
        text = continue_story("A trip to the seaside", ())
        first, rest = text.split(". ", 1)
        assert re.search(
            r"\ba (curious fox|kind old owl|cheerful little robot|brave mouse)\b", first
        )
        assert re.search(r"\bthe (fox|owl|robot|mouse)\b", rest, flags=re.IGNORECASE)

    @pytest.mark.parametrize("limit", [12, 30, 60])
    def test_respects_the_word_limit(self, limit: int) -> None:
        for i in range(10):
            text = continue_story(PREMISE, (*SEGMENTS, f"Chapter {i} began."), max_words=limit)
            first_sentence_words = len(re.split(r"(?<=[.!?\"])\s", text)[0].split())
            assert len(text.split()) <= max(limit, first_sentence_words)

    def test_scene_follows_the_story(self) -> None:
        text = continue_story("A voyage", ("The ship sailed over the ocean waves.",))
        assert "shore" in text

    def test_gentle_for_all_ages(self) -> None:
        unsafe = {"kill", "blood", "dead", "die", "gun", "knife", "hate", "stupid"}
        for i in range(30):
            text = continue_story(PREMISE, (f"Dan went to the castle number {i}.",))
            assert not unsafe & set(re.findall(r"[a-z]+", text.lower()))

    def test_complete_sentences(self) -> None:
        text = continue_story(PREMISE, SEGMENTS)
        assert text[0].isupper()
        assert text.rstrip('"').endswith((".", "!", "?"))

    def test_model_name_is_its_own(self) -> None:
        assert MODEL_NAME == "storyhub-narrator-1"
