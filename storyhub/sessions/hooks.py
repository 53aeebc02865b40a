"""The two seams later issues plug into: the safety layer and the AI narrator's seat.

Both are passed to the registry (and from it to every actor) once, in the app
factory. The defaults here let everything run before those issues land.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

import msgspec

ContentKind = Literal["turn", "chat"]


class ContentVerdict(msgspec.Struct, frozen=True):
    """What the safety layer decided about one text."""

    allowed: bool
    text: str
    """The text to store (possibly redacted); ignored when not allowed."""
    reason: str = ""
    """Shown to the author when refused (never the matched content itself)."""
    categories: tuple[str, ...] = ()
    """Why a refusal happened (the safety layer's categories, e.g. ``profanity``).

    A refusal with categories reaches the author as ``contentBlocked`` carrying
    them; one without stays the generic ``contentRejected``.
    """


@dataclass(frozen=True)
class ContentContext:
    story_id: UUID
    author_id: UUID
    age_rating: str
    kind: ContentKind


class ContentFilter(Protocol):
    """The safety seam: every turn and chat text passes here before it is stored."""

    async def check(self, text: str, context: ContentContext) -> ContentVerdict:
        """Allow (maybe redacted) or refuse ``text``; must not block the loop."""


class PassThroughFilter:
    """Default until the safety layer lands: everything is allowed unchanged."""

    async def check(self, text: str, context: ContentContext) -> ContentVerdict:
        return ContentVerdict(allowed=True, text=text)


class AiTurnDecision(msgspec.Struct, frozen=True):
    """What the AI seat does with a turn it was just given.

    ``pass_turn``: give the turn on at once (the default seat). ``deferred``:
    work was started elsewhere (a TaskIQ task); its text comes back to the
    actor as ``AiSegmentReady`` through the registry, or the turn deadline
    skips the seat.
    """

    action: Literal["pass_turn", "deferred"]


@dataclass(frozen=True)
class AiTurnContext:
    story_id: UUID
    last_seq: int
    deadline: float


class AiSeat(Protocol):
    """The AI narrator's seat in turn order (when the story has ``aiNarrator``)."""

    async def turn_started(self, context: AiTurnContext) -> AiTurnDecision:
        """Called by the actor when the seat gets the turn; return quickly."""


class PassingAiSeat:
    """Default until the AI narrator lands: the seat passes its turn."""

    async def turn_started(self, context: AiTurnContext) -> AiTurnDecision:
        return AiTurnDecision(action="pass_turn")
