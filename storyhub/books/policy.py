"""Who may build and download a story's books: a pure rule.

Collaborators of the story (any role, as long as they may see it) may build
and download its books; nobody else. A book is built from a completed story;
the story's owner may also build a *draft* of an unfinished one, which the
book marks as such. Access to the story itself (collaborator, age tier
against rating) is checked before these rules by ``stories.access``.
"""

from __future__ import annotations

from typing import Final

import msgspec

from storyhub.stories.policy import Denial, StoryRole, StoryStatus

NOT_COMPLETED: Final = "storyNotCompleted"


class BuildDecision(msgspec.Struct, frozen=True):
    """Whether a book may be built, and whether it is a draft."""

    allowed: bool
    draft: bool = False
    denial: Denial | None = None


def build_decision(role: StoryRole | None, status: StoryStatus | str) -> BuildDecision:
    """What ``role`` may build from a story in ``status``."""
    if role is None:
        return BuildDecision(
            allowed=False, denial=Denial("notAllowed", "Only collaborators can build books.")
        )
    if status == "completed":
        return BuildDecision(allowed=True)
    if role == "owner":
        return BuildDecision(allowed=True, draft=True)
    return BuildDecision(
        allowed=False,
        denial=Denial(
            NOT_COMPLETED, "This story is not finished yet; only its owner can build a draft."
        ),
    )


def can_download(role: StoryRole | None) -> bool:
    """Every collaborator who may see the story may download its books."""
    return role is not None
