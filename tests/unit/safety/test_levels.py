"""Levels: thresholds per rating and the room's effective level."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.safety.levels import LEVELS, blocks, effective_level, ordered

TIERS = ["child", "teen", "olderTeen", "adult"]


class TestThresholds:
    """Which severities each level blocks."""

    @pytest.mark.parametrize(
        ("level", "mild", "strong", "severe"),
        [
            ("allAges", True, True, True),
            ("teen", False, True, True),
            ("mature", False, False, True),
        ],
    )
    def test_blocks(self, level: str, mild: bool, strong: bool, severe: bool) -> None:
        assert blocks(level, "mild") is mild  # type: ignore[arg-type]
        assert blocks(level, "strong") is strong  # type: ignore[arg-type]
        assert blocks(level, "severe") is severe  # type: ignore[arg-type]


class TestEffectiveLevel:
    """The youngest member sets the room's level."""

    def test_adults_keep_the_rating(self) -> None:
        assert effective_level("mature", ["adult", "adult"]) == "mature"

    def test_a_child_makes_a_mature_story_all_ages(self) -> None:
        assert effective_level("mature", ["adult", "child"]) == "allAges"

    def test_teens_and_older_teens_make_it_teen(self) -> None:
        assert effective_level("mature", ["adult", "olderTeen"]) == "teen"
        assert effective_level("mature", ["teen"]) == "teen"

    def test_members_never_loosen_the_rating(self) -> None:
        assert effective_level("allAges", ["adult"]) == "allAges"

    def test_no_members_means_the_rating(self) -> None:
        assert effective_level("teen", []) == "teen"

    def test_unknown_tier_counts_as_a_child(self) -> None:
        assert effective_level("mature", ["martian"]) == "allAges"

    @given(st.sampled_from(LEVELS), st.lists(st.sampled_from(TIERS), max_size=6))
    def test_level_is_never_looser_than_rating_or_any_member(
        self, rating: str, tiers: list[str]
    ) -> None:
        level = effective_level(rating, tiers)  # type: ignore[arg-type]
        allowed = {"child": 0, "teen": 1, "olderTeen": 1, "adult": 2}
        assert LEVELS.index(level) <= LEVELS.index(rating)  # type: ignore[arg-type]
        assert all(LEVELS.index(level) <= allowed[t] for t in tiers)


def test_categories_are_reported_most_urgent_first() -> None:
    assert ordered(["profanity", "grooming", "personalData", "profanity"]) == [
        "grooming",
        "profanity",
        "personalData",
    ]
