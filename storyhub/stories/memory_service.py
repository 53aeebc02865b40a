"""Story memory (pinned facts) and lore entries: read by collaborators, kept by writers.

Every collaborator of a story may list both (viewers included); the owner,
editors and authors may change them; anyone else gets ``storyNotFound``
(:func:`~storyhub.stories.access.load_access`).

Everything stored here reaches the AI narrator's prompt, so every text passes
the room's safety filter first (the same :class:`ContentFilter` that guards
turns: the story's rating lowered to its youngest collaborator). A redacted
text is stored redacted; a blocked one answers ``422 contentBlocked`` with
the filter's categories and is queued for moderators by the filter.

Adds take the story's lock (a row lock on PostgreSQL, the ``IMMEDIATE``
transaction on SQLite), so the per-story limits, positions and the
one-name-per-entry rule hold under concurrent writers.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.postgres import PostgresEngine

from storyhub.accounts.principal import Principal
from storyhub.lib.errors import Conflict, Forbidden, InvalidInput, NotFound
from storyhub.media.prompting import LoreCandidate, normalise_trigger, trigger_key
from storyhub.sessions.hooks import (
    ContentBlocked,
    ContentContext,
    ContentFilter,
    ContentKind,
    screen,
)
from storyhub.stories import policy
from storyhub.stories.access import (
    StoryAccess,
    clean_text,
    decode_json,
    load_access,
    story_not_found,
    utc_now,
    writing,
)
from storyhub.stories.memory_schemas import (
    MAX_FACTS_PER_STORY,
    MAX_LORE_PER_STORY,
    FactIn,
    FactList,
    FactOut,
    LoreIn,
    LoreList,
    LoreOut,
    LorePatch,
)
from storyhub.stories.memory_tables import LoreEntry, PinnedFact
from storyhub.stories.tables import Story

# --- helpers -------------------------------------------------------------------


async def _writer(principal: Principal, story_id: UUID) -> StoryAccess:
    access = await load_access(principal, story_id)
    if not policy.can_write(access.role):
        raise Forbidden(
            "Only the story's owner, editors and authors can change its memory and lore.",
            code="notAllowed",
        )
    return access


async def _screen(
    content_filter: ContentFilter,
    principal: Principal,
    access: StoryAccess,
    text: str,
    kind: ContentKind,
) -> str:
    """``text`` as it may be stored (maybe redacted), or ``contentBlocked``."""
    context = ContentContext(
        story_id=access.story["id"], author_id=principal.id, age_rating=access.rating, kind=kind
    )
    return await screen(content_filter, text, context)


def _clean_triggers(raw: list[str]) -> list[str]:
    """Whitespace-normalised triggers without blanks or repeats (case and spacing ignored)."""
    triggers: list[str] = []
    seen: set[str] = set()
    for trigger in raw:
        cleaned = normalise_trigger(trigger)
        if not cleaned:
            raise InvalidInput(
                "A trigger word cannot be blank.", code="invalidTrigger", field="triggers"
            )
        if trigger_key(cleaned) not in seen:
            seen.add(trigger_key(cleaned))
            triggers.append(cleaned)
    return triggers


async def _screen_triggers(
    content_filter: ContentFilter, principal: Principal, access: StoryAccess, triggers: list[str]
) -> None:
    """Refuse triggers the filter blocks or would redact.

    A redacted trigger would never match the story's text (the story stores
    redacted text too), so personal data in a trigger is refused, not stored.
    """
    joined = ", ".join(triggers)
    stored = await _screen(content_filter, principal, access, joined, "lore")
    if stored != joined:
        raise ContentBlocked(
            "Trigger words cannot contain personal data.", categories=["personalData"]
        )


async def _lock_story(story_id: UUID) -> None:
    """Serialize writers of one story's memory (call inside :func:`writing`)."""
    query = Story.select(Story.id).where(Story.id == story_id)
    if isinstance(Story._meta.db, PostgresEngine):
        # SQLite has no row locks; its IMMEDIATE transaction already serializes writers.
        query = query.lock_rows()
    if await query.first() is None:
        raise story_not_found()


def _fact_out(row: dict[str, Any]) -> FactOut:
    return FactOut(
        id=row["id"],
        text=row["text"],
        position=row["position"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


def _triggers(raw: Any) -> list[str]:
    value = decode_json(raw)
    return [str(t) for t in value] if isinstance(value, list) else []


def _lore_out(row: dict[str, Any]) -> LoreOut:
    return LoreOut(
        id=row["id"],
        name=row["name"],
        triggers=_triggers(row["triggers"]),
        text=row["text"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


_FACT_COLUMNS = (
    PinnedFact.id,
    PinnedFact.text,
    PinnedFact.position,
    PinnedFact.created_by,
    PinnedFact.created_at,
)
_LORE_COLUMNS = (
    LoreEntry.id,
    LoreEntry.name,
    LoreEntry.triggers,
    LoreEntry.text,
    LoreEntry.created_by,
    LoreEntry.created_at,
    LoreEntry.updated_at,
)


def _fact_not_found() -> NotFound:
    return NotFound("This story has no such pinned fact.", code="factNotFound")


def _lore_not_found() -> NotFound:
    return NotFound("This story has no such lore entry.", code="loreNotFound")


async def _fact_rows(story_id: UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await PinnedFact.select(*_FACT_COLUMNS)
        .where(PinnedFact.story == story_id)
        .order_by(PinnedFact.position)
        .order_by(PinnedFact.created_at)
    )
    return rows


async def _lore_rows(story_id: UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await LoreEntry.select(*_LORE_COLUMNS)
        .where(LoreEntry.story == story_id)
        .order_by(LoreEntry.created_at)
        .order_by(LoreEntry.id)
    )
    return rows


async def _name_taken(story_id: UUID, name: str, except_id: UUID | None = None) -> bool:
    rows = await LoreEntry.select(LoreEntry.id, LoreEntry.name).where(LoreEntry.story == story_id)
    key = name.casefold()
    return any(row["name"].casefold() == key and row["id"] != except_id for row in rows)


def _name_conflict() -> Conflict:
    return Conflict("This story already has a lore entry with that name.", code="loreNameTaken")


# --- pinned facts --------------------------------------------------------------


async def list_facts(principal: Principal, story_id: UUID) -> FactList:
    """The story's pinned facts in prompt order."""
    await load_access(principal, story_id)
    rows = await _fact_rows(story_id)
    return FactList(items=[_fact_out(row) for row in rows], limit=MAX_FACTS_PER_STORY)


async def add_fact(
    principal: Principal, story_id: UUID, data: FactIn, content_filter: ContentFilter
) -> FactOut:
    """Pin a fact at the end of the list (writers only; filtered first)."""
    access = await _writer(principal, story_id)
    text = await _screen(content_filter, principal, access, clean_text(data.text, "text"), "memory")
    async with writing():
        await _lock_story(story_id)
        if await PinnedFact.count().where(PinnedFact.story == story_id) >= MAX_FACTS_PER_STORY:
            raise Conflict(
                f"A story can pin at most {MAX_FACTS_PER_STORY} facts; remove one first.",
                code="memoryFull",
            )
        last = (
            await PinnedFact.select(PinnedFact.position)
            .where(PinnedFact.story == story_id)
            .order_by(PinnedFact.position, ascending=False)
            .first()
        )
        fact = PinnedFact(
            story=story_id,
            text=text,
            position=0 if last is None else last["position"] + 1,
            created_by=principal.id,
            created_at=utc_now(),
        )
        await fact.save()
    row = await PinnedFact.select(*_FACT_COLUMNS).where(PinnedFact.id == fact.id).first()
    if row is None:  # removed by another writer in between
        raise _fact_not_found()
    return _fact_out(row)


async def delete_fact(principal: Principal, story_id: UUID, fact_id: UUID) -> None:
    """Unpin a fact (writers only); the others keep their order."""
    await _writer(principal, story_id)
    deleted = await (
        PinnedFact.delete()
        .where((PinnedFact.id == fact_id) & (PinnedFact.story == story_id))
        .returning(PinnedFact.id)
    )
    if not deleted:
        raise _fact_not_found()


# --- lore ----------------------------------------------------------------------


async def list_lore(principal: Principal, story_id: UUID) -> LoreList:
    """The story's lore entries, oldest first."""
    await load_access(principal, story_id)
    rows = await _lore_rows(story_id)
    return LoreList(items=[_lore_out(row) for row in rows], limit=MAX_LORE_PER_STORY)


async def add_lore(
    principal: Principal, story_id: UUID, data: LoreIn, content_filter: ContentFilter
) -> LoreOut:
    """Add a lore entry (writers only; name, triggers and text filtered first)."""
    access = await _writer(principal, story_id)
    name = clean_text(data.name, "name")
    triggers = _clean_triggers(data.triggers)
    text = clean_text(data.text, "text")
    name = await _screen(content_filter, principal, access, name, "lore")
    await _screen_triggers(content_filter, principal, access, triggers)
    text = await _screen(content_filter, principal, access, text, "lore")
    now = utc_now()
    async with writing():
        await _lock_story(story_id)
        if await LoreEntry.count().where(LoreEntry.story == story_id) >= MAX_LORE_PER_STORY:
            raise Conflict(
                f"A story can hold at most {MAX_LORE_PER_STORY} lore entries; remove one first.",
                code="loreFull",
            )
        if await _name_taken(story_id, name):
            raise _name_conflict()
        entry = LoreEntry(
            story=story_id,
            name=name,
            triggers=msgspec.json.encode(triggers).decode(),
            text=text,
            created_by=principal.id,
            created_at=now,
            updated_at=now,
        )
        await entry.save()
    return await _lore_by_id(story_id, entry.id)


async def _lore_by_id(story_id: UUID, lore_id: UUID) -> LoreOut:
    row = (
        await LoreEntry.select(*_LORE_COLUMNS)
        .where((LoreEntry.id == lore_id) & (LoreEntry.story == story_id))
        .first()
    )
    if row is None:
        raise _lore_not_found()
    return _lore_out(row)


async def update_lore(
    principal: Principal,
    story_id: UUID,
    lore_id: UUID,
    patch: LorePatch,
    content_filter: ContentFilter,
) -> LoreOut:
    """Change the fields present in ``patch`` (writers only; each filtered first)."""
    access = await _writer(principal, story_id)
    await _lore_by_id(story_id, lore_id)  # 404 before any filtering or queueing
    values: dict[Any, Any] = {}
    if patch.name is not msgspec.UNSET:
        name = clean_text(patch.name, "name")
        values[LoreEntry.name] = await _screen(content_filter, principal, access, name, "lore")
    if patch.triggers is not msgspec.UNSET:
        triggers = _clean_triggers(patch.triggers)
        await _screen_triggers(content_filter, principal, access, triggers)
        values[LoreEntry.triggers] = msgspec.json.encode(triggers).decode()
    if patch.text is not msgspec.UNSET:
        text = clean_text(patch.text, "text")
        values[LoreEntry.text] = await _screen(content_filter, principal, access, text, "lore")
    if values:
        values[LoreEntry.updated_at] = utc_now()
        async with writing():
            await _lock_story(story_id)
            if LoreEntry.name in values and await _name_taken(
                story_id, values[LoreEntry.name], except_id=lore_id
            ):
                raise _name_conflict()
            await LoreEntry.update(values).where(
                (LoreEntry.id == lore_id) & (LoreEntry.story == story_id)
            )
    return await _lore_by_id(story_id, lore_id)


async def delete_lore(principal: Principal, story_id: UUID, lore_id: UUID) -> None:
    """Remove a lore entry (writers only)."""
    await _writer(principal, story_id)
    deleted = await (
        LoreEntry.delete()
        .where((LoreEntry.id == lore_id) & (LoreEntry.story == story_id))
        .returning(LoreEntry.id)
    )
    if not deleted:
        raise _lore_not_found()


# --- for the narrator ----------------------------------------------------------


async def prompt_inputs(story_id: UUID) -> tuple[tuple[str, ...], tuple[LoreCandidate, ...]]:
    """The story's pinned facts (in order) and lore entries (oldest first), for a prompt."""
    facts = tuple(str(row["text"]) for row in await _fact_rows(story_id))
    lore = tuple(
        LoreCandidate(
            name=str(row["name"]), triggers=tuple(_triggers(row["triggers"])), text=row["text"]
        )
        for row in await _lore_rows(story_id)
    )
    return facts, lore
