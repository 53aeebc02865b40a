"""Credit names: pseudonyms for minors, "the narrator" for the AI, no emails."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.books.credits import (
    NARRATOR_CREDIT,
    UNNAMED_ADULT_CREDIT,
    Contributor,
    collaborator_credits,
    credit_name,
    suggest_pseudonym,
)
from storyhub.books.manuscript import Credit, ManuscriptError


class TestCreditName:
    def test_ai_is_the_narrator(self) -> None:
        assert credit_name(Contributor(user_id=None, display_name="GPT")) == NARRATOR_CREDIT

    def test_minor_is_credited_by_pseudonym_only(self) -> None:
        """A child's display name never becomes the credit."""
        child = Contributor(
            user_id="u1", display_name="Emma Johnson", is_minor=True, pseudonym="Brave Otter 17"
        )
        assert credit_name(child) == "Brave Otter 17"

    @pytest.mark.parametrize("pseudonym", [None, "", "   ", "emma@example.org"])
    def test_minor_without_usable_pseudonym_is_refused(self, pseudonym: str | None) -> None:
        """No pseudonym (or one that is only an email) is an error, never a fallback to the name."""
        child = Contributor(user_id="u1", display_name="Emma", is_minor=True, pseudonym=pseudonym)
        with pytest.raises(ManuscriptError, match="pseudonym"):
            credit_name(child)

    def test_pseudonym_containing_the_real_name_is_refused(self) -> None:
        child = Contributor(
            user_id="u1", display_name="Emma Johnson", is_minor=True, pseudonym="Super JOHNSON"
        )
        with pytest.raises(ManuscriptError, match="real name"):
            credit_name(child)

    def test_adult_is_credited_by_display_name(self) -> None:
        adult = Contributor(user_id="u2", display_name="  Sam   Rivera ")
        assert credit_name(adult) == "Sam Rivera"

    def test_email_is_stripped_from_an_adult_name(self) -> None:
        """An email typed into a display name is never printed."""
        assert credit_name(Contributor(user_id="u2", display_name="Sam sam@x.org")) == "Sam"
        assert credit_name(Contributor(user_id="u2", display_name="sam@x.org")) == (
            UNNAMED_ADULT_CREDIT
        )
        assert (
            credit_name(Contributor(user_id="u2", display_name="sam@x.org", pseudonym="Quill"))
            == "Quill"
        )

    def test_control_characters_and_overlong_names_are_tidied(self) -> None:
        name = credit_name(Contributor(user_id="u2", display_name="Sam\x00\x07" + "x" * 200))
        assert name.startswith("Samx")
        assert len(name) <= 60


class TestCollaboratorCredits:
    def test_each_person_once_in_order_with_roles(self) -> None:
        credits = collaborator_credits(
            [
                Contributor(user_id="a", display_name="Sam", role="owner"),
                Contributor(user_id="b", display_name="Kid", is_minor=True, pseudonym="Fox 12"),
                Contributor(user_id="a", display_name="Sam", role="owner"),
                Contributor(user_id=None),
            ]
        )
        assert credits == (
            Credit(name="Sam", role="owner"),
            Credit(name="Fox 12", role="author"),
            Credit(name=NARRATOR_CREDIT, role="narrator"),
        )


class TestSuggestPseudonym:
    def test_is_stable_and_friendly(self) -> None:
        first = suggest_pseudonym(b"user-1")
        assert first == suggest_pseudonym(b"user-1")
        adjective, animal, number = first.split(" ")
        assert adjective.isalpha()
        assert animal.isalpha()
        assert 10 <= int(number) <= 99

    def test_different_keys_usually_differ(self) -> None:
        names = {suggest_pseudonym(f"user-{i}".encode()) for i in range(200)}
        assert len(names) > 150


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_minor_credit_never_contains_a_word_of_their_name(real: str, pseudonym: str) -> None:
    """Property: whatever the inputs, a minor's credit is refused or reveals no name word."""
    child = Contributor(user_id="u", display_name=real, is_minor=True, pseudonym=pseudonym)
    try:
        credit = credit_name(child)
    except ManuscriptError:
        return

    def words(text: str) -> set[str]:
        return {w for w in re.split(r"\W+", text.casefold()) if len(w) >= 3}

    assert not words(real) & words(credit)
    assert not re.search(r"\S+@\S+", credit)
    assert credit.strip()
