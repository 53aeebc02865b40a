"""Which pinned facts and lore entries the narrator is told about (pure selection)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storyhub.media import narrator
from storyhub.media.prompting import (
    MAX_LORE_PROMPT_CHARS,
    MAX_TRIGGERED_LORE,
    LoreCandidate,
    last_mention,
    note_chars,
    prompt_facts,
    story_memory,
    triggered_lore,
)
from storyhub.media.providers.base import LoreNote, TextRequest
from storyhub.media.providers.openai_compat import chat_messages


def lore(name: str, *triggers: str, text: str = "Some background.") -> LoreCandidate:
    return LoreCandidate(name=name, triggers=triggers, text=text)


def names(entries: list[LoreCandidate]) -> list[str]:
    return [entry.name for entry in entries]


class TestMatching:
    def test_whole_words_only(self) -> None:
        dragon = lore("Dragon", "dragon")
        assert names(triggered_lore([dragon], "", ["The dragon slept."])) == ["Dragon"]
        assert names(triggered_lore([dragon], "", ["It was the dragon's cave."])) == ["Dragon"]
        assert triggered_lore([dragon], "", ["A dragonfly and a snapdragon."]) == []

    def test_case_and_spacing_are_ignored_in_phrases(self) -> None:
        entry = lore("Red Dragon", "red  dragon")
        assert names(triggered_lore([entry], "", ["Beware the RED\n dragon!"])) == ["Red Dragon"]
        assert triggered_lore([entry], "", ["A red cap and a dragon."]) == []

    def test_punctuation_in_a_trigger_is_literal(self) -> None:
        entry = lore("The doctor", "Dr. Bloom")
        assert names(triggered_lore([entry], "", ["Then Dr. Bloom arrived."])) == ["The doctor"]
        assert triggered_lore([entry], "", ["Then Dr Bloom arrived."]) == []
        assert triggered_lore([entry], "", ["Then Drx Bloom arrived."]) == []

    def test_the_premise_triggers_too(self) -> None:
        entry = lore("Brightwater", "Brightwater")
        assert names(triggered_lore([entry], "A summer in Brightwater.", [])) == ["Brightwater"]

    def test_any_trigger_of_an_entry_is_enough(self) -> None:
        entry = lore("Pip", "Pip", "the little dragon")
        assert names(triggered_lore([entry], "", ["We met the little dragon."])) == ["Pip"]

    def test_entries_without_triggers_never_fire(self) -> None:
        assert triggered_lore([lore("Nothing", "  ")], "anything", ["at all"]) == []


class TestOrderAndCaps:
    def test_most_recently_mentioned_first(self) -> None:
        owl = lore("Owl", "owl")
        fox = lore("Fox", "fox")
        bee = lore("Bee", "bee")
        chosen = triggered_lore(
            [owl, fox, bee], "A bee buzzed.", ["The fox ran.", "The owl hooted, then the fox."]
        )
        # Last segment: owl at 8, fox at the end; the bee only in the premise.
        assert names(chosen) == ["Fox", "Owl", "Bee"]

    def test_ties_keep_the_stored_order(self) -> None:
        first = lore("First", "moon")
        second = lore("Second", "moon")
        assert names(triggered_lore([first, second], "", ["The moon rose."])) == [
            "First",
            "Second",
        ]

    def test_at_most_max_entries(self) -> None:
        entries = [lore(f"E{i}", f"word{i}") for i in range(8)]
        text = " ".join(f"word{i}" for i in range(8))
        chosen = triggered_lore(entries, "", [text], max_entries=3)
        assert names(chosen) == ["E7", "E6", "E5"]

    def test_a_long_entry_is_skipped_and_shorter_ones_still_fit(self) -> None:
        long = lore("Long", "castle", text="x" * 150)
        short = lore("Short", "gate", text="y" * 10)
        chosen = triggered_lore([long, short], "", ["The gate of the castle."], max_chars=100)
        assert names(chosen) == ["Short"]

    def test_defaults_are_the_documented_caps(self) -> None:
        entries = [lore(f"E{i}", f"w{i}", text="z" * 10) for i in range(MAX_TRIGGERED_LORE + 3)]
        text = " ".join(f"w{i}" for i in range(MAX_TRIGGERED_LORE + 3))
        assert len(triggered_lore(entries, "", [text])) == MAX_TRIGGERED_LORE
        big = [lore(f"B{i}", "go", text="q" * 900) for i in range(4)]
        chosen = triggered_lore(big, "", ["go"])
        assert sum(note_chars(e) for e in chosen) <= MAX_LORE_PROMPT_CHARS
        assert names(chosen) == ["B0", "B1"]


class TestFacts:
    def test_pinned_first_then_new_extras_and_no_blanks(self) -> None:
        facts = prompt_facts(["Mia is nine.", " ", "Pip is a dog."], ["pip IS a  dog.", "New."])
        assert facts == ("Mia is nine.", "Pip is a dog.", "New.")

    def test_story_memory_gives_facts_and_notes(self) -> None:
        memory = story_memory(
            ["Mia is nine."],
            [lore("Pip", "Pip", text="A dog who fears owls."), lore("Moon", "moon")],
            "A forest walk.",
            ["Pip barked."],
            extra_facts=["It is winter."],
        )
        assert memory.facts == ("Mia is nine.", "It is winter.")
        assert memory.lore == (LoreNote(name="Pip", text="A dog who fears owls."),)


# --- properties ------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)
FILLER = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6), max_size=6
)
SEPARATOR = st.sampled_from([" ", ", ", ". ", "\n", "'s ", "! ", ' "'])


@settings(max_examples=100, deadline=None)
@given(word=WORD, before=FILLER, after=FILLER, sep1=SEPARATOR, sep2=SEPARATOR, upper=st.booleans())
def test_a_word_between_separators_triggers_in_any_case(
    word: str, before: list[str], after: list[str], sep1: str, sep2: str, upper: bool
) -> None:
    text = " ".join(before) + sep1 + (word.upper() if upper else word) + sep2 + " ".join(after)
    assert names(triggered_lore([lore("W", word)], "", [text])) == ["W"]


@settings(max_examples=100, deadline=None)
@given(word=WORD, prefix=st.text(alphabet="xyz09_é", max_size=3), suffix=st.text("xyz09_é"))
def test_a_word_inside_a_longer_word_does_not_trigger(word: str, prefix: str, suffix: str) -> None:
    if not prefix and not suffix:
        suffix = "s"
    assert triggered_lore([lore("W", word)], "", [f"see {prefix}{word}{suffix} here"]) == [] or (
        word in ("see", "here")
    )


ENTRIES = st.lists(
    st.builds(
        LoreCandidate,
        name=st.text(alphabet="ABCdef", min_size=1, max_size=10),
        triggers=st.lists(WORD, min_size=1, max_size=3).map(tuple),
        text=st.text(min_size=1, max_size=400),
    ),
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(
    entries=ENTRIES,
    premise=st.lists(WORD, max_size=10).map(" ".join),
    segments=st.lists(st.lists(WORD, max_size=15).map(" ".join), max_size=6),
    max_entries=st.integers(0, 6),
    max_chars=st.integers(0, 1500),
)
def test_selection_respects_caps_and_recency(
    entries: list[LoreCandidate],
    premise: str,
    segments: list[str],
    max_entries: int,
    max_chars: int,
) -> None:
    chosen = triggered_lore(
        entries, premise, segments, max_entries=max_entries, max_chars=max_chars
    )
    texts = [premise, *segments]
    assert len(chosen) <= max_entries
    assert sum(note_chars(e) for e in chosen) <= max_chars
    assert all(e in entries for e in chosen)
    mentions = [last_mention(e.triggers, texts) for e in chosen]
    assert all(m is not None for m in mentions)
    assert mentions == sorted(mentions, reverse=True)  # type: ignore[type-var]
    # Nothing in play was left out that would still have fitted.
    if len(chosen) < max_entries:
        used = sum(note_chars(e) for e in chosen)
        for entry in entries:
            if entry not in chosen and last_mention(entry.triggers, texts) is not None:
                assert used + note_chars(entry) > max_chars


# --- what the providers make of it ---------------------------------------------------


class TestNarratorUsesMemory:
    PREMISE = "Two friends look for a lost lantern in an enchanted forest."
    SEGMENTS = (
        "Once upon a time, Mia and her dog Pip lived at the edge of a forest.",
        "One evening Mia heard a whisper between the trees. Pip wagged his tail.",
    )

    def test_a_pinned_fact_is_brought_into_the_scene(self) -> None:
        text = narrator.continue_story(
            self.PREMISE, self.SEGMENTS, facts=("The lantern belonged to Grandma Rosa.",)
        )
        assert "lantern belonged to Grandma Rosa." in text

    def test_the_newest_lore_entry_is_named(self) -> None:
        text = narrator.continue_story(
            self.PREMISE,
            self.SEGMENTS,
            facts=("Pip is afraid of owls.",),
            lore=(("The Whisperwood", "An old forest where the trees remember every name."),),
        )
        assert "The Whisperwood" in text
        assert "An old forest where the trees remember every name." in text

    def test_a_hero_comes_from_the_facts_when_the_text_names_nobody(self) -> None:
        text = narrator.continue_story(
            "A trip to the seaside", (), facts=("Captain Juno sails a blue boat.",)
        )
        assert "Juno" in text.split(". ")[0]

    def test_without_memory_nothing_is_remembered(self) -> None:
        text = narrator.continue_story(self.PREMISE, self.SEGMENTS)
        assert "remembered something important" not in text
        assert "kept one thing in mind" not in text

    def test_long_texts_are_quoted_in_part_and_the_word_limit_holds(self) -> None:
        long = "The map " + "went on and on " * 30 + "forever."
        text = narrator.continue_story(self.PREMISE, self.SEGMENTS, facts=(long,), max_words=60)
        assert "…" in text
        assert len(text.split()) <= 60


class TestOpenAIPromptCarriesMemory:
    def test_facts_and_lore_are_in_the_prompt(self) -> None:
        system, user = chat_messages(
            TextRequest(
                premise="A forest walk.",
                recent_segments=("Pip barked.",),
                facts=("Mia is nine.",),
                lore=(LoreNote(name="Pip", text="A dog\n\nwho fears owls."),),
            )
        )
        assert "never contradict them" in system["content"]
        assert "Facts to keep consistent:\n- Mia is nine." in user["content"]
        assert "Lore that matters now" in user["content"]
        assert "- Pip: A dog who fears owls." in user["content"]
        assert user["content"].index("Lore that matters now") < user["content"].index("Pip barked")

    def test_no_memory_no_memory_instruction(self) -> None:
        system, user = chat_messages(TextRequest(premise="A forest walk."))
        assert "never contradict" not in system["content"]
        assert "Lore" not in user["content"]
