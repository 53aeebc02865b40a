"""Loading a story for a caller, and the helpers every stories module shares.

A story id alone grants nothing: :func:`load_access` answers ``storyNotFound``
unless the caller collaborates on the story and their age tier allows its
rating, so a stranger cannot tell a hidden story from a missing one.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from storyhub.accounts.principal import Principal
from storyhub.lib import database
from storyhub.lib.errors import Forbidden, InvalidInput, NotFound
from storyhub.stories import policy
from storyhub.stories.policy import AgeRating, Denial, StoryRole
from storyhub.stories.schemas import StoryOut, StorySettings
from storyhub.stories.tables import Collaborator, Story


def story_not_found() -> NotFound:
    """The one answer for a missing story and a story the caller may not see."""
    return NotFound("There is no such story, or you cannot see it.", code="storyNotFound")


def refuse(denial: Denial) -> Forbidden:
    """A policy :class:`Denial` as the error the HTTP layer renders (403)."""
    return Forbidden(denial.message, code=denial.code)


def utc_now() -> datetime:
    """Timezone-aware now, as stored in every ``Timestamptz`` column."""
    return datetime.now(UTC)


def writing() -> AbstractAsyncContextManager[Any]:
    """A write transaction (:func:`storyhub.lib.database.writing`)."""
    return database.writing(Story._meta.db)


def decode_json(value: Any) -> Any:
    """JSON columns come back as text on both engines unless asked otherwise."""
    if isinstance(value, str | bytes):
        return msgspec.json.decode(value)
    return value


def read_settings(raw: Any) -> StorySettings:
    """``Story.settings`` as a typed value, with defaults for missing keys."""
    try:
        return msgspec.convert(decode_json(raw) or {}, StorySettings, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # A hand-edited row must not make the story unreadable: use defaults.
        return StorySettings()


def clean_text(value: str, field: str) -> str:
    """``value`` without surrounding whitespace; blank text is invalid input."""
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"{field} cannot be blank.", code="invalidInput", field=field)
    return cleaned


# --- access --------------------------------------------------------------------


class StoryAccess(msgspec.Struct, frozen=True):
    """One story as the caller may see it, with the caller's role."""

    story: dict[str, Any]
    role: StoryRole

    @property
    def rating(self) -> AgeRating:
        rating: AgeRating = self.story["age_rating"]
        return rating


async def load_access(principal: Principal, story_id: UUID) -> StoryAccess:
    """The story and the caller's role; ``storyNotFound`` unless the caller may view it."""
    row = (
        await Collaborator.select(Collaborator.role, *Collaborator.story.all_columns())
        .where((Collaborator.story == story_id) & (Collaborator.user == principal.id))
        .output(nested=True)
        .first()
    )
    if row is None:
        raise story_not_found()
    story: dict[str, Any] = row["story"]
    role = policy.effective_role(row["role"], is_creator=story["creator"] == principal.id)
    if not policy.can_view(role, principal.age_tier, story["age_rating"]):
        raise story_not_found()
    assert role is not None  # can_view implies a role
    return StoryAccess(story=story, role=role)


def story_out(story: dict[str, Any], role: StoryRole) -> StoryOut:
    settings = read_settings(story["settings"])
    return StoryOut(
        id=story["id"],
        title=story["title"],
        premise=story["premise"],
        age_rating=story["age_rating"],
        status=story["status"],
        creator_id=story["creator"],
        ai_narrator=settings.ai_narrator,
        turn_seconds=settings.turn_seconds,
        max_segment_length=settings.max_segment_length,
        visibility=story["visibility"],
        cover_art_url=story["cover_art_url"],
        created_at=story["created_at"],
        updated_at=story["updated_at"],
        completed_at=story["completed_at"],
        role=role,
    )
