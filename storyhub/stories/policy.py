"""Who may see, join, edit and invite: pure rules, no I/O.

Every decision about a story is a function of plain values (the caller's
effective role, age tier, the story's rating), so it can be tested over the
whole matrix and is the same for the REST controllers and the session actor.

Roles
    ``owner`` is not stored as a collaborator role: the story's creator
    (``Story.creator``) is stored as an ``author`` collaborator and *is* the
    owner. That keeps the actor's rule "authors and editors take turns" true
    for the owner without a special case, while every ownership decision keys
    on ``Story.creator``. The API reports the owner's role as ``owner``.

    ========  ==========  =====================  =============================
    role      reads       takes turns / chats    manages
    ========  ==========  =====================  =============================
    owner     yes         yes                    edits the story, invites any
                                                 role, changes roles, removes
    editor    yes         yes                    invites authors and viewers
    author    yes         yes                    nothing
    viewer    yes         no                     nothing
    ========  ==========  =====================  =============================

    Anyone but the owner may leave a story; the owner cannot be removed or
    demoted (there is no ownership transfer yet).

Age tiers and ratings
    ``child`` reads ``allAges`` only; ``teen`` and ``olderTeen`` read
    ``allAges`` and ``teen``; ``adult`` reads everything. A collaborator whose
    tier is below the story's rating does not see the story at all (it is not
    listed and answers 404), even if a row says they collaborate.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from storyhub.accounts.principal import AgeTier

AgeRating = Literal["allAges", "teen", "mature"]
StoredRole = Literal["author", "editor", "viewer"]
"""What ``Collaborator.role`` holds (and what an invite may grant)."""
StoryRole = Literal["owner", "author", "editor", "viewer"]
"""A caller's effective role on one story."""
Visibility = Literal["private", "public"]
StoryStatus = Literal["active", "completed"]

AGE_RATINGS: Final[tuple[AgeRating, ...]] = ("allAges", "teen", "mature")
STORED_ROLES: Final[tuple[StoredRole, ...]] = ("author", "editor", "viewer")
OWNER_STORED_ROLE: Final[StoredRole] = "author"

_RATINGS_BY_TIER: Final[dict[str, tuple[AgeRating, ...]]] = {
    "child": ("allAges",),
    "teen": ("allAges", "teen"),
    "olderTeen": ("allAges", "teen"),
    "adult": ("allAges", "teen", "mature"),
}
_WRITERS: Final[frozenset[str]] = frozenset({"owner", "editor", "author"})
_INVITERS: Final[frozenset[str]] = frozenset({"owner", "editor"})


class Denial(msgspec.Struct, frozen=True):
    """Why an action is refused: a stable code and a sentence for the caller."""

    code: str
    message: str


AGE_RESTRICTED = "ageRestricted"


# --- age tiers and ratings -----------------------------------------------------


def allowed_ratings(tier: AgeTier) -> tuple[AgeRating, ...]:
    """The ratings someone of ``tier`` may create, join and read; unknown tiers get none."""
    return _RATINGS_BY_TIER.get(tier, ())


def tier_allows(tier: AgeTier, rating: AgeRating) -> bool:
    """True when someone of ``tier`` may see a story rated ``rating``."""
    return rating in allowed_ratings(tier)


def rating_change_allowed(new_rating: AgeRating, collaborator_tiers: list[AgeTier]) -> bool:
    """A story may take ``new_rating`` only if every collaborator may still read it."""
    return all(tier_allows(tier, new_rating) for tier in collaborator_tiers)


def is_minor(tier: AgeTier) -> bool:
    return tier != "adult"


def default_visibility(tier: AgeTier) -> Visibility:
    """Stories are private unless their creator asks otherwise (minors cannot)."""
    return "private"


def visibility_allowed(tier: AgeTier, visibility: Visibility) -> bool:
    """Only adults may mark a story ``public``; a minor's story always stays private."""
    return visibility == "private" or not is_minor(tier)


# --- roles ---------------------------------------------------------------------


def effective_role(stored_role: str | None, *, is_creator: bool) -> StoryRole | None:
    """The caller's role on a story from their collaborator row (``None``: not one)."""
    if stored_role is None:
        return None
    if is_creator:
        return "owner"
    for role in STORED_ROLES:
        if stored_role == role:
            return role
    # An unknown stored value grants nothing beyond reading.
    return "viewer"


def can_view(role: StoryRole | None, tier: AgeTier, rating: AgeRating) -> bool:
    """Collaborators whose tier allows the rating see the story; nobody else does."""
    return role is not None and tier_allows(tier, rating)


def can_write(role: StoryRole | None) -> bool:
    """Takes turns, chats and votes: owner, editors and authors; viewers only read."""
    return role in _WRITERS


def can_edit_story(role: StoryRole | None) -> bool:
    """Changes title, premise, settings, rating or visibility: the owner only."""
    return role == "owner"


def can_issue_ticket(role: StoryRole | None, tier: AgeTier, rating: AgeRating) -> bool:
    """A WebSocket ticket goes to anyone who may view: viewers watch live too."""
    return can_view(role, tier, rating)


def inviter_denial(inviter: StoryRole | None, granted: StoredRole) -> Denial | None:
    """Why ``inviter`` may not grant ``granted`` to anyone, or ``None``.

    Checked before the invitee is looked up, so a viewer cannot use invites
    to learn which emails have accounts.
    """
    if inviter not in _INVITERS:
        return Denial("notAllowed", "Only the story's owner and editors can invite people.")
    if granted == "editor" and inviter != "owner":
        return Denial("notAllowed", "Only the story's owner can make someone an editor.")
    return None


def invite_denial(
    inviter: StoryRole | None,
    granted: StoredRole,
    invitee_tier: AgeTier,
    rating: AgeRating,
) -> Denial | None:
    """Why ``inviter`` may not add someone of ``invitee_tier`` as ``granted``, or ``None``."""
    denial = inviter_denial(inviter, granted)
    if denial is not None:
        return denial
    if not tier_allows(invitee_tier, rating):
        return Denial(AGE_RESTRICTED, "This person is too young for this story's age rating.")
    return None


def role_change_denial(
    actor: StoryRole | None, target_is_owner: bool, new_role: StoredRole
) -> Denial | None:
    """Why ``actor`` may not give a collaborator ``new_role``, or ``None``."""
    del new_role  # every stored role is grantable by the owner
    if actor != "owner":
        return Denial("notAllowed", "Only the story's owner can change roles.")
    if target_is_owner:
        return Denial("ownerRoleFixed", "The owner's role cannot be changed.")
    return None


def removal_denial(
    actor: StoryRole | None, *, removing_self: bool, target_is_owner: bool
) -> Denial | None:
    """Why ``actor`` may not remove a collaborator, or ``None``.

    The owner removes anyone but themself; everyone else may only leave.
    """
    if target_is_owner:
        return Denial("ownerCannotLeave", "The owner cannot be removed from their story.")
    if removing_self or actor == "owner":
        return None
    return Denial("notAllowed", "Only the story's owner can remove other people.")
