"""The AI narrator's seat: when it gets the turn, a narrator task is queued.

:class:`NarratorSeat` is the :class:`~storyhub.sessions.hooks.AiSeat` the app
plugs into the session registry. On ``turn_started`` it decides, in the API
process, whether the room's text may go to a third-party AI provider (every
collaborator who is not an adult needs the ``aiFeatures`` consent scope; see
:func:`storyhub.sessions.rules.remote_ai_allowed`), then enqueues the TaskIQ
task ``storyhub.media.narrate_turn`` with that answer, the turn token (the
story's last seq when the turn began) and the attempt number, and defers.
The task's text comes back to the actor through the ``StoryNotifier``; the
actor filters it, commits it or asks this seat again (a regeneration), and
drops text whose turn moved on.

A failure to decide or to enqueue passes the turn at once with
``aiTurnSkipped {reason: "failed"}``: the room is never left waiting on work
that was never queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from uuid import UUID

from storyhub.accounts import consent
from storyhub.sessions import rules
from storyhub.sessions.hooks import AiTurnContext, AiTurnDecision
from storyhub.stories.tables import Collaborator

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger("storyhub.sessions.ai")

DECIDE_SECONDS = 5.0
"""Deciding and enqueueing run inside an actor step: bounded, then the seat passes."""

Enqueue = Callable[[AiTurnContext, bool], Awaitable[None]]
RemotePolicy = Callable[[UUID], Awaitable[bool]]


async def room_allows_remote_ai(story_id: UUID) -> bool:
    """True when every collaborator's text may go to a third-party AI provider.

    One query for the members' tiers; consent is looked up only for those who
    are not adults, and the first one without the scope ends the search.
    """
    rows = await Collaborator.select(
        Collaborator.user.as_alias("user_id"),
        Collaborator.user.age_tier.as_alias("tier"),
    ).where(Collaborator.story == story_id)
    for row in rows:
        tier = str(row["tier"])
        if tier == rules.ADULT_TIER:
            continue
        consented = await consent.may_send_to_ai_provider(row["user_id"])
        if not rules.remote_ai_allowed([(tier, consented)]):
            return False
    return True


async def enqueue_narrator_task(context: AiTurnContext, allow_remote: bool) -> None:
    """Queue ``storyhub.media.narrate_turn`` for the seat's turn."""
    from storyhub.media.tasks import write_narrator_turn

    await write_narrator_turn.kiq(
        str(context.story_id),
        allow_remote=allow_remote,
        last_seq=context.last_seq,
        attempt=context.attempt,
        revise_seq=context.revise_seq,
    )


class NarratorSeat:
    """Queues the narrator's text for each turn of the AI seat."""

    def __init__(
        self,
        *,
        max_regenerations: int,
        enqueue: Enqueue = enqueue_narrator_task,
        remote_policy: RemotePolicy = room_allows_remote_ai,
        decide_seconds: float = DECIDE_SECONDS,
    ) -> None:
        self.max_regenerations = max_regenerations
        self._enqueue = enqueue
        self._remote_policy = remote_policy
        self._decide_seconds = decide_seconds

    async def turn_started(self, context: AiTurnContext) -> AiTurnDecision:
        try:
            async with asyncio.timeout(self._decide_seconds):
                # Asked again for every attempt: a consent withdrawn meanwhile counts.
                allow_remote = await self._remote_policy(context.story_id)
                await self._enqueue(context, allow_remote)
        except Exception:
            log.exception(
                "could not queue the narrator's turn", extra={"storyId": str(context.story_id)}
            )
            return AiTurnDecision(action="pass_turn", skip_reason="failed")
        log.info(
            "narrator turn queued",
            extra={
                "storyId": str(context.story_id),
                "lastSeq": context.last_seq,
                "attempt": context.attempt,
                "allowRemote": allow_remote,
            },
        )
        return AiTurnDecision(action="deferred")


@asynccontextmanager
async def ai_seat_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Put the narrator's seat on ``app.state`` (before the sessions lifespan reads it)."""
    settings = app.state.services.settings
    app.state.ai_seat = NarratorSeat(max_regenerations=settings.ai.max_regenerations)
    yield
