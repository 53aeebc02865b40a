"""Emails, display names and preferences from account forms."""

from __future__ import annotations

import pytest

from storyhub.accounts.validation import (
    MAX_PREFERENCES_BYTES,
    clean_display_name,
    merge_preferences,
    normalise_email,
)
from storyhub.lib.errors import InvalidInput


class TestEmail:
    """Emails are trimmed, lower-cased and roughly checked."""

    def test_normalised(self) -> None:
        assert normalise_email("  Ada.Lovelace@Example.COM \n") == "ada.lovelace@example.com"

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada lovelace@example.com",
            "ada@exa mple.com",
            "ada@example..com",
            "ada\x00@example.com",
            "a" * 65 + "@example.com",
            "ada@" + "e" * 250 + ".com",
        ],
    )
    def test_invalid(self, raw: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            normalise_email(raw)
        assert caught.value.code == "invalidEmail"


class TestDisplayName:
    """1-80 printable characters after trimming."""

    def test_trimmed(self) -> None:
        assert clean_display_name("  Ada  ") == "Ada"

    @pytest.mark.parametrize("raw", ["", "   ", "x" * 81, "Ada\nLovelace", "\x07bell"])
    def test_invalid(self, raw: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            clean_display_name(raw)
        assert caught.value.code == "invalidDisplayName"

    def test_emoji_with_joiners_are_fine(self) -> None:
        assert clean_display_name("Fam 👨‍👩‍👧") == "Fam 👨‍👩‍👧"


class TestPreferences:
    """A shallow merge where null removes a key, bounded in size."""

    def test_merge_and_remove(self) -> None:
        merged = merge_preferences({"theme": "dark", "font": "big"}, {"font": None, "lang": "de"})
        assert merged == {"theme": "dark", "lang": "de"}

    def test_too_large(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            merge_preferences({}, {"blob": "x" * MAX_PREFERENCES_BYTES})
        assert caught.value.code == "preferencesTooLarge"
