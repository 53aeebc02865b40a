"""The safety pipeline in live story rooms: the sessions' :class:`ContentFilter`.

Every user turn and chat message passes :class:`SafetyContentFilter` before the
actor stores or broadcasts it. The room's level is the story's rating lowered to
its youngest collaborator (all collaborators, present or not: a child may open
the story at any moment and read what was written). A ``redact`` verdict stores
the redacted text; a ``block`` refuses it with its categories (the actor answers
the sender ``contentBlocked``) and queues the original for moderators.

The same filter screens text outside a room (through
:func:`storyhub.sessions.hooks.screen`): pinned facts and lore, a story's title
and premise (a story being created names its creator's tier in the context),
and the prompts media workers send to image and video providers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, get_args
from uuid import UUID

from storyhub.safety.levels import LEVELS, SafetyLevel, effective_level
from storyhub.safety.moderation import ModerationQueue
from storyhub.safety.pipeline import SafetyPipeline, build_pipeline
from storyhub.sessions.hooks import BLOCKED_MESSAGE, ContentContext, ContentVerdict
from storyhub.stories.tables import Collaborator

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger(__name__)

ROOM_CACHE_SECONDS = 5.0
"""How long a story's collaborator tiers are reused before asking the database again.

A collaborator added meanwhile (say, a child) tightens the room at most this late.
"""

ADULT_TIER = "adult"


@dataclass(frozen=True)
class RoomPolicy:
    """What the filter needs to know about a story's members."""

    tiers: tuple[str, ...]

    @property
    def has_minor(self) -> bool:
        """True when any collaborator is not an adult (an unknown tier counts as a minor)."""
        return any(tier != ADULT_TIER for tier in self.tiers)


def room_level(rating: str, tiers: tuple[str, ...]) -> SafetyLevel:
    """The effective level; an unknown rating counts as the strictest level."""
    known: SafetyLevel = rating if rating in get_args(SafetyLevel) else LEVELS[0]  # type: ignore[assignment]
    return effective_level(known, tiers)


async def collaborator_tiers(story_id: UUID) -> tuple[str, ...]:
    """The age tiers of every collaborator of ``story_id``, in one query."""
    rows = await Collaborator.select(Collaborator.user.age_tier.as_alias("tier")).where(
        Collaborator.story == story_id
    )
    return tuple(str(row["tier"]) for row in rows)


class SafetyContentFilter:
    """:class:`~storyhub.sessions.hooks.ContentFilter` backed by the safety pipeline."""

    def __init__(
        self,
        pipeline: SafetyPipeline,
        queue: ModerationQueue,
        *,
        cache_seconds: float = ROOM_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        load_tiers: Callable[[UUID], Awaitable[tuple[str, ...]]] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._load_tiers = load_tiers or collaborator_tiers
        self._queue = queue
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._rooms: dict[UUID, tuple[float, RoomPolicy]] = {}

    async def _room(self, story_id: UUID) -> RoomPolicy:
        now = self._clock()
        cached = self._rooms.get(story_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        policy = RoomPolicy(await self._load_tiers(story_id))
        # Drop expired entries now and then so the cache stays as small as the live rooms.
        if len(self._rooms) > 1024:
            self._rooms = {k: v for k, v in self._rooms.items() if v[0] > now}
        self._rooms[story_id] = (now + self._cache_seconds, policy)
        return policy

    async def _policy(self, context: ContentContext) -> RoomPolicy:
        if context.member_tiers is not None:
            return RoomPolicy(context.member_tiers)
        if context.story_id is None:
            # No story and no members named: assume a child will read it.
            return RoomPolicy(("child",))
        try:
            return await self._room(context.story_id)
        except Exception:
            # Without the members' tiers the level is unknown: assume a child is present.
            log.exception("could not load collaborator tiers; filtering as allAges")
            return RoomPolicy(("child",))

    async def check(self, text: str, context: ContentContext) -> ContentVerdict:
        """Allow, redact or block ``text`` for the room of ``context.story_id``."""
        room = await self._policy(context)
        level = room_level(context.age_rating, room.tiers)
        # A minor's words (and words a minor will read) never leave storyhub unless
        # every minor has the AI-features consent scope; not checked yet, so: never.
        allow_remote = context.allow_remote and not room.has_minor
        verdict = await self._pipeline.check(text, level, allow_remote=allow_remote)
        if verdict.verdict == "allow":
            return ContentVerdict(allowed=True, text=text)
        if verdict.verdict == "redact":
            return ContentVerdict(
                allowed=True,
                text=verdict.redacted if verdict.redacted is not None else text,
                categories=tuple(verdict.categories),
            )
        try:
            await self._queue.record_blocked(
                story_id=context.story_id,
                author_id=context.author_id,
                source=context.kind,  # every ContentKind is a moderation Source
                content=text,
                verdict=verdict,
            )
        except Exception:
            # The author is refused either way; a lost queue entry must not become a 500.
            log.exception(
                "could not queue blocked content for moderation",
                extra={"storyId": str(context.story_id)},
            )
        return ContentVerdict(
            allowed=False,
            text="",
            reason=BLOCKED_MESSAGE,
            categories=tuple(verdict.categories),
        )


@asynccontextmanager
async def safety_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Build the pipeline once, warm it up, and put the room filter on ``app.state``.

    Must run before the sessions lifespan, which hands ``app.state.content_filter``
    to the session registry.
    """
    services = app.state.services
    pipeline = build_pipeline(services.settings)
    # Loading the model takes ~1.5 s; a thread keeps the loop free meanwhile.
    await asyncio.to_thread(pipeline.warm_up)
    app.state.content_filter = SafetyContentFilter(pipeline, ModerationQueue(services.cipher))
    try:
        yield
    finally:
        await pipeline.aclose()
