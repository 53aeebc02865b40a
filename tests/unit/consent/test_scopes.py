"""Consent scopes and the features they unlock (pure rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.accounts import scopes
from storyhub.accounts.scopes import ALL_SCOPES, NO_SCOPES, allowed, effective_scopes

scope_sets = st.frozensets(st.sampled_from(sorted(ALL_SCOPES)))


class TestAllowed:
    def test_ai_provider_needs_participate_and_ai_features(self) -> None:
        assert allowed(frozenset({"participate", "aiFeatures"}), "aiProvider")
        assert not allowed(frozenset({"participate"}), "aiProvider")
        assert not allowed(frozenset({"aiFeatures"}), "aiProvider")

    def test_media_through_a_provider_needs_both_media_and_ai(self) -> None:
        media = frozenset({"participate", "mediaGeneration"})
        assert allowed(media, "mediaGeneration")
        assert not allowed(media, "mediaGenerationByAiProvider")
        assert allowed(media | {"aiFeatures"}, "mediaGenerationByAiProvider")

    def test_unknown_features_are_never_allowed(self) -> None:
        assert not allowed(ALL_SCOPES, "teleport")  # type: ignore[arg-type]

    @given(scope_sets)
    def test_nothing_without_participate(self, granted: frozenset[str]) -> None:
        without = granted - {"participate"}
        for feature in scopes.FEATURE_SCOPES:
            assert not allowed(without, feature)  # type: ignore[arg-type]

    @given(scope_sets, scope_sets)
    def test_more_scopes_never_allow_less(self, a: frozenset[str], b: frozenset[str]) -> None:
        for feature in scopes.FEATURE_SCOPES:
            if allowed(a, feature):  # type: ignore[arg-type]
                assert allowed(a | b, feature)  # type: ignore[arg-type]


class TestEffectiveScopes:
    @pytest.mark.parametrize("status", ["pendingConsent", "deactivated"])
    def test_inactive_accounts_get_nothing(self, status: str) -> None:
        assert (
            effective_scopes(
                status=status, age_tier="adult", has_parental_link=False, consented=None
            )
            == NO_SCOPES
        )

    def test_a_linked_child_gets_exactly_what_was_granted(self) -> None:
        granted = frozenset({"participate", "publicLibrary"})
        assert (
            effective_scopes(
                status="active", age_tier="child", has_parental_link=True, consented=granted
            )
            == granted
        )

    def test_a_link_without_a_current_record_fails_closed(self) -> None:
        assert (
            effective_scopes(
                status="active", age_tier="teen", has_parental_link=True, consented=None
            )
            == NO_SCOPES
        )

    def test_an_unlinked_child_fails_closed(self) -> None:
        assert (
            effective_scopes(
                status="active", age_tier="child", has_parental_link=False, consented=None
            )
            == NO_SCOPES
        )

    @pytest.mark.parametrize("tier", ["teen", "olderTeen", "adult"])
    def test_self_consenting_users_get_everything(self, tier: str) -> None:
        assert (
            effective_scopes(
                status="active", age_tier=tier, has_parental_link=False, consented=None
            )
            == ALL_SCOPES
        )


def test_normalise_scopes_names_the_unknown_one() -> None:
    assert scopes.normalise_scopes(["participate", "participate"]) == {"participate"}
    with pytest.raises(ValueError, match="'spying'"):
        scopes.normalise_scopes(["participate", "spying"])


def test_sorted_scopes_is_stable() -> None:
    assert scopes.sorted_scopes(ALL_SCOPES) == [
        "participate",
        "aiFeatures",
        "mediaGeneration",
        "publicLibrary",
    ]
