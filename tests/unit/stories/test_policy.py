"""Who may see, join, edit and invite: the tier x rating x role matrix."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.accounts.principal import AgeTier
from storyhub.stories import policy
from storyhub.stories.policy import AgeRating, StoredRole, StoryRole

TIERS: tuple[AgeTier, ...] = get_args(AgeTier)
RATINGS: tuple[AgeRating, ...] = get_args(AgeRating)
ROLES: tuple[StoryRole, ...] = get_args(StoryRole)
STORED: tuple[StoredRole, ...] = get_args(StoredRole)

# The product rule, written out once by hand: tier -> ratings it may read.
EXPECTED_RATINGS = {
    "child": {"allAges"},
    "teen": {"allAges", "teen"},
    "olderTeen": {"allAges", "teen"},
    "adult": {"allAges", "teen", "mature"},
}

tiers = st.sampled_from(TIERS)
ratings = st.sampled_from(RATINGS)
roles = st.sampled_from((*ROLES, None))
stored_roles = st.sampled_from(STORED)


class TestTierAndRating:
    @pytest.mark.parametrize("tier", TIERS)
    @pytest.mark.parametrize("rating", RATINGS)
    def test_tier_allows_exactly_the_product_matrix(self, tier: AgeTier, rating: AgeRating) -> None:
        assert policy.tier_allows(tier, rating) == (rating in EXPECTED_RATINGS[tier])

    def test_every_declared_rating_and_tier_is_covered(self) -> None:
        assert set(RATINGS) == set(policy.AGE_RATINGS)
        assert set(TIERS) == set(EXPECTED_RATINGS)

    def test_unknown_tier_allows_nothing(self) -> None:
        assert policy.allowed_ratings("toddler") == ()  # type: ignore[arg-type]
        assert not policy.tier_allows("toddler", "allAges")  # type: ignore[arg-type]

    @given(tiers, tiers, ratings)
    def test_tiers_are_monotonic(self, a: AgeTier, b: AgeTier, rating: AgeRating) -> None:
        """An older tier may read at least everything a younger one may."""
        order = {"child": 0, "teen": 1, "olderTeen": 2, "adult": 3}
        if order[a] <= order[b] and policy.tier_allows(a, rating):
            assert policy.tier_allows(b, rating)

    @given(st.lists(tiers, max_size=8), ratings)
    def test_rating_change_needs_every_collaborator(
        self, collaborators: list[AgeTier], rating: AgeRating
    ) -> None:
        allowed = policy.rating_change_allowed(rating, collaborators)
        assert allowed == all(rating in EXPECTED_RATINGS[t] for t in collaborators)

    def test_one_child_blocks_a_teen_rating(self) -> None:
        assert not policy.rating_change_allowed("teen", ["adult", "child", "teen"])
        assert policy.rating_change_allowed("allAges", ["adult", "child", "teen"])


class TestVisibility:
    @pytest.mark.parametrize("tier", TIERS)
    def test_default_is_private(self, tier: AgeTier) -> None:
        assert policy.default_visibility(tier) == "private"

    @pytest.mark.parametrize("tier", ["child", "teen", "olderTeen"])
    def test_minors_cannot_make_a_story_public(self, tier: AgeTier) -> None:
        assert not policy.visibility_allowed(tier, "public")
        assert policy.visibility_allowed(tier, "private")

    def test_adults_may_make_a_story_public(self) -> None:
        assert policy.visibility_allowed("adult", "public")


class TestRoles:
    def test_the_creator_is_the_owner_whatever_is_stored(self) -> None:
        for stored in STORED:
            assert policy.effective_role(stored, is_creator=True) == "owner"

    @pytest.mark.parametrize("stored", STORED)
    def test_others_have_their_stored_role(self, stored: StoredRole) -> None:
        assert policy.effective_role(stored, is_creator=False) == stored

    def test_no_row_means_no_role_even_for_the_creator(self) -> None:
        assert policy.effective_role(None, is_creator=True) is None

    def test_an_unknown_stored_role_only_reads(self) -> None:
        role = policy.effective_role("superuser", is_creator=False)
        assert role == "viewer"
        assert not policy.can_write(role)

    @given(roles, tiers, ratings)
    def test_view_needs_a_role_and_a_tier_allowing_the_rating(
        self, role: StoryRole | None, tier: AgeTier, rating: AgeRating
    ) -> None:
        assert policy.can_view(role, tier, rating) == (
            role is not None and rating in EXPECTED_RATINGS[tier]
        )
        assert policy.can_issue_ticket(role, tier, rating) == policy.can_view(role, tier, rating)

    @pytest.mark.parametrize(
        ("role", "writes", "edits"),
        [
            ("owner", True, True),
            ("editor", True, False),
            ("author", True, False),
            ("viewer", False, False),
            (None, False, False),
        ],
    )
    def test_write_and_edit_by_role(
        self, role: StoryRole | None, writes: bool, edits: bool
    ) -> None:
        assert policy.can_write(role) is writes
        assert policy.can_edit_story(role) is edits


class TestInvites:
    @given(roles, stored_roles, tiers, ratings)
    def test_invite_matrix(
        self, inviter: StoryRole | None, granted: StoredRole, tier: AgeTier, rating: AgeRating
    ) -> None:
        denial = policy.invite_denial(inviter, granted, tier, rating)
        may_invite = inviter == "owner" or (inviter == "editor" and granted != "editor")
        if not may_invite:
            assert denial is not None
            assert denial.code == "notAllowed"
        elif rating not in EXPECTED_RATINGS[tier]:
            assert denial is not None
            assert denial.code == "ageRestricted"
        else:
            assert denial is None

    def test_inviter_check_alone_ignores_the_invitee(self) -> None:
        assert policy.inviter_denial("editor", "author") is None
        assert policy.inviter_denial("author", "viewer") is not None
        assert policy.inviter_denial("viewer", "viewer") is not None

    def test_a_child_cannot_join_a_teen_story_even_via_the_owner(self) -> None:
        denial = policy.invite_denial("owner", "viewer", "child", "teen")
        assert denial is not None
        assert denial.code == "ageRestricted"

    def test_only_the_owner_grants_editor(self) -> None:
        assert policy.invite_denial("owner", "editor", "adult", "mature") is None
        assert policy.invite_denial("editor", "editor", "adult", "allAges") is not None


class TestRoleChangesAndRemoval:
    @given(roles, st.booleans(), stored_roles)
    def test_only_the_owner_changes_roles_and_never_their_own(
        self, actor: StoryRole | None, target_is_owner: bool, new_role: StoredRole
    ) -> None:
        denial = policy.role_change_denial(actor, target_is_owner, new_role)
        assert (denial is None) == (actor == "owner" and not target_is_owner)

    @given(roles, st.booleans(), st.booleans())
    def test_removal_matrix(
        self, actor: StoryRole | None, removing_self: bool, target_is_owner: bool
    ) -> None:
        denial = policy.removal_denial(
            actor, removing_self=removing_self, target_is_owner=target_is_owner
        )
        if target_is_owner:
            assert denial is not None
            assert denial.code == "ownerCannotLeave"
        else:
            assert (denial is None) == (removing_self or actor == "owner")
