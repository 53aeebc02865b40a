"""Stories: create, read, update, the caller's library, and WebSocket tickets.

Every function takes the caller (a :class:`Principal`) and answers only what
that caller may see (see :mod:`storyhub.stories.access`); the decisions live
in :mod:`storyhub.stories.policy`.

Writes that depend on both the story's rating and its collaborators (an
invite, a rating change) first touch the story row inside their transaction:
on PostgreSQL that row lock serializes them, on SQLite the ``IMMEDIATE``
transaction does, so a minor can never be invited into a story whose rating
is being raised at the same moment.

A story's title and premise are shown to every collaborator and go into the
narrator's and the cover's prompts, so both pass the room's safety filter
before they are stored: at create, the chosen rating lowered to the creator's
tier (the only member yet); at update, the story's room level (its rating,
as patched, lowered to its youngest collaborator). A redacted text is stored
redacted; a blocked one answers ``422 contentBlocked`` and nothing is stored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final
from uuid import UUID

import msgspec

from storyhub.accounts.principal import Principal
from storyhub.lib.errors import Conflict, Forbidden, InvalidInput
from storyhub.sessions.hooks import ContentContext, ContentFilter, ContentKind, screen
from storyhub.stories import policy
from storyhub.stories.access import (
    clean_text,
    load_access,
    read_settings,
    story_not_found,
    story_out,
    utc_now,
    writing,
)
from storyhub.stories.policy import StoryStatus
from storyhub.stories.schemas import (
    TITLE_MAX,
    StoryCreate,
    StoryOut,
    StoryPage,
    StoryPatch,
    StorySettings,
    WsTicketOut,
)
from storyhub.stories.tables import Collaborator, Story
from storyhub.stories.tickets import TicketBook, issue_ticket

# --- stories -------------------------------------------------------------------


async def _screened(
    content_filter: ContentFilter, text: str, kind: ContentKind, context: ContentContext
) -> str:
    """``text`` as it may be stored (maybe redacted), or ``contentBlocked``."""
    screened = await screen(content_filter, text, replace(context, kind=kind))
    # "[redacted]" can be longer than what it replaces; a title has a column limit.
    return screened[:TITLE_MAX] if kind == "title" else screened


async def create_story(
    principal: Principal, data: StoryCreate, content_filter: ContentFilter
) -> StoryOut:
    """Create a story owned by the caller, who becomes its first collaborator."""
    title = clean_text(data.title, "title")
    premise = clean_text(data.premise, "premise")
    if not policy.tier_allows(principal.age_tier, data.age_rating):
        raise Forbidden(
            f"Your account cannot create stories rated {data.age_rating!r}.",
            code=policy.AGE_RESTRICTED,
        )
    visibility = data.visibility or policy.default_visibility(principal.age_tier)
    if not policy.visibility_allowed(principal.age_tier, visibility):
        raise Forbidden("Stories by young people stay private.", code=policy.AGE_RESTRICTED)
    # No collaborator rows yet: the creator is the room.
    context = ContentContext(
        story_id=None,
        author_id=principal.id,
        age_rating=data.age_rating,
        kind="title",
        member_tiers=(principal.age_tier,),
    )
    title = await _screened(content_filter, title, "title", context)
    premise = await _screened(content_filter, premise, "premise", context)
    settings = StorySettings(
        ai_narrator=data.ai_narrator,
        turn_seconds=data.turn_seconds,
        max_segment_length=data.max_segment_length,
    )
    now = utc_now()
    story = Story(
        title=title,
        premise=premise,
        creator=principal.id,
        age_rating=data.age_rating,
        status="active",
        visibility=visibility,
        settings=msgspec.json.encode(settings).decode(),
        created_at=now,
        updated_at=now,
    )
    async with writing():
        await story.save()
        await Collaborator(
            story=story.id, user=principal.id, role=policy.OWNER_STORED_ROLE, joined_at=now
        ).save()
    return await get_story(principal, story.id)


async def get_story(principal: Principal, story_id: UUID) -> StoryOut:
    access = await load_access(principal, story_id)
    return story_out(access.story, access.role)


async def _collaborator_tiers(story_id: UUID) -> list[Any]:
    rows = await Collaborator.select(Collaborator.user.age_tier.as_alias("tier")).where(
        Collaborator.story == story_id
    )
    return [row["tier"] for row in rows]


async def update_story(
    principal: Principal, story_id: UUID, patch: StoryPatch, content_filter: ContentFilter
) -> StoryOut:
    """Apply the fields present in ``patch``; the owner only."""
    access = await load_access(principal, story_id)
    if not policy.can_edit_story(access.role):
        raise Forbidden("Only the story's owner can change it.", code="notAllowed")
    values: dict[Any, Any] = {}
    # Checked at the rating the story will have; filtered before the write
    # transaction so a slow filter never holds the story's lock.
    rating = access.rating if patch.age_rating is msgspec.UNSET else patch.age_rating
    context = ContentContext(
        story_id=story_id, author_id=principal.id, age_rating=rating, kind="title"
    )
    if patch.title is not msgspec.UNSET:
        title = clean_text(patch.title, "title")
        values[Story.title] = await _screened(content_filter, title, "title", context)
    if patch.premise is not msgspec.UNSET:
        premise = clean_text(patch.premise, "premise")
        values[Story.premise] = await _screened(content_filter, premise, "premise", context)
    if patch.visibility is not msgspec.UNSET:
        if not policy.visibility_allowed(principal.age_tier, patch.visibility):
            raise Forbidden("Stories by young people stay private.", code=policy.AGE_RESTRICTED)
        values[Story.visibility] = patch.visibility
    settings = read_settings(access.story["settings"])
    changed = msgspec.structs.replace(
        settings,
        **{
            name: getattr(patch, name)
            for name in ("ai_narrator", "turn_seconds", "max_segment_length")
            if getattr(patch, name) is not msgspec.UNSET
        },
    )
    if changed != settings:
        values[Story.settings] = msgspec.json.encode(changed).decode()
    rating_changes = patch.age_rating is not msgspec.UNSET and patch.age_rating != access.rating
    if not values and not rating_changes:
        return story_out(access.story, access.role)
    async with writing():
        # Touch first: the row lock orders this against concurrent invites.
        await Story.update({Story.updated_at: utc_now()}).where(Story.id == story_id)
        if rating_changes:
            assert patch.age_rating is not msgspec.UNSET
            if not policy.tier_allows(principal.age_tier, patch.age_rating):
                raise Forbidden(
                    f"Your account cannot use the rating {patch.age_rating!r}.",
                    code=policy.AGE_RESTRICTED,
                )
            if not policy.rating_change_allowed(
                patch.age_rating, await _collaborator_tiers(story_id)
            ):
                raise Conflict(
                    "A collaborator is too young for that rating; remove them first.",
                    code="ageRatingConflict",
                )
            values[Story.age_rating] = patch.age_rating
        if values:
            await Story.update(values).where(Story.id == story_id)
    return await get_story(principal, story_id)


LIBRARY_LIMIT_MAX: Final = 100


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput("The cursor is not one this server issued.", code="invalidCursor")
    return int(cursor)


async def list_library(
    principal: Principal, *, limit: int, cursor: str | None, status: StoryStatus | None
) -> StoryPage:
    """The caller's stories (own and collaborating), newest membership first.

    Stories above the caller's age tier are never listed. The cursor is the
    membership row id, so paging is stable while stories are edited.
    """
    after = _parse_cursor(cursor)
    ratings = list(policy.allowed_ratings(principal.age_tier))
    if not ratings:
        return StoryPage(items=[], next_cursor=None)
    where = (Collaborator.user == principal.id) & Collaborator.story.age_rating.is_in(ratings)
    if status is not None:
        where &= Collaborator.story.status == status
    if after is not None:
        where &= Collaborator.id < after
    rows = (
        await Collaborator.select(
            Collaborator.id, Collaborator.role, *Collaborator.story.all_columns()
        )
        .where(where)
        .order_by(Collaborator.id, ascending=False)
        .limit(limit + 1)
        .output(nested=True)
    )
    items: list[StoryOut] = []
    for row in rows[:limit]:
        story = row["story"]
        role = policy.effective_role(row["role"], is_creator=story["creator"] == principal.id)
        assert role is not None
        items.append(story_out(story, role))
    more = len(rows) > limit
    return StoryPage(items=items, next_cursor=str(rows[limit - 1]["id"]) if more else None)


# --- WebSocket tickets ---------------------------------------------------------


async def issue_ws_ticket(principal: Principal, story_id: UUID, book: TicketBook) -> WsTicketOut:
    """A single-use ticket for the caller to open this story's WebSocket."""
    access = await load_access(principal, story_id)
    if not policy.can_issue_ticket(access.role, principal.age_tier, access.rating):
        raise story_not_found()
    ticket = await issue_ticket(book, principal.id, story_id)
    return WsTicketOut(ticket=ticket, expires_in=book.ttl_seconds)
