"""The two seams later issues plug into: the safety layer and the AI narrator's seat.

Both are passed to the registry (and from it to every actor) once, in the app
factory. The defaults here let everything run before those issues land.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

import msgspec

from storyhub.lib.errors import StoryhubError

ContentKind = Literal[
    "turn", "chat", "aiText", "aiImagePrompt", "memory", "lore", "title", "premise"
]
"""What a text is; ``aiText`` is the AI narrator's (moderation records it as such);
``aiImagePrompt`` what an image or video provider is asked to draw
(``storyhub.media.generation``); ``memory`` a pinned fact and ``lore`` a lore entry
(``storyhub.stories.memory_service``); ``title`` and ``premise`` a story's own
(``storyhub.stories.service``)."""
AiSkipReason = Literal["contentBlocked", "failed"]


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


BLOCKED_MESSAGE = "This text can't be used in this story."
"""What the author is told about a blocked text; never the matched words themselves."""


@dataclass(frozen=True)
class ContentContext:
    story_id: UUID | None
    """``None`` for a story not created yet (then ``member_tiers`` says who is in it)."""
    author_id: UUID | None
    """``None`` for the AI narrator's text and for prompts storyhub builds itself."""
    age_rating: str
    kind: ContentKind
    member_tiers: tuple[str, ...] | None = None
    """The collaborators' age tiers when the caller knows them (a story being
    created has no collaborator rows yet); ``None``: the filter looks them up."""
    allow_remote: bool = True
    """``False`` keeps the text from any third-party moderation service, whoever is
    in the room (the caller knows its author has not consented to AI providers)."""


class ContentFilter(Protocol):
    """The safety seam: every turn and chat text passes here before it is stored."""

    async def check(self, text: str, context: ContentContext) -> ContentVerdict:
        """Allow (maybe redacted) or refuse ``text``; must not block the loop."""


class ContentBlocked(StoryhubError):
    """The safety filter refused a text for this story (``categories`` says why)."""

    status = 422
    code = "contentBlocked"
    title = "Content blocked"


async def screen(content_filter: ContentFilter, text: str, context: ContentContext) -> str:
    """``text`` as it may be stored and passed on (maybe redacted), or ``ContentBlocked``.

    For texts outside a live room (story fields, memory, image prompts); the
    filter has already queued a blocked text for moderators.
    """
    verdict = await content_filter.check(text, context)
    if not verdict.allowed:
        raise ContentBlocked(verdict.reason or BLOCKED_MESSAGE, categories=list(verdict.categories))
    return verdict.text


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
    skip_reason: AiSkipReason | None = None
    """Why a ``pass_turn`` happened when it is news to the room (``aiTurnSkipped``);
    ``None`` for a seat that simply does not write."""


@dataclass(frozen=True)
class AiTurnContext:
    story_id: UUID
    last_seq: int
    """The story's last seq when the turn began: the token that marks stale text."""
    deadline: float
    attempt: int = 0
    """0 for the first text of a turn; 1, 2, … when blocked text is written again."""
    revise_seq: int | None = None
    """Set when writers asked for this segment (the AI's last) to be written again."""


class AiSeat(Protocol):
    """The AI narrator's seat in turn order (when the story has ``aiNarrator``).

    A seat may also say ``max_regenerations`` (how often blocked text is
    written again before the seat passes); without it, blocked text passes at once.
    """

    async def turn_started(self, context: AiTurnContext) -> AiTurnDecision:
        """Called by the actor when the seat gets the turn; return quickly."""


class PassingAiSeat:
    """Default until the AI narrator lands: the seat passes its turn."""

    async def turn_started(self, context: AiTurnContext) -> AiTurnDecision:
        return AiTurnDecision(action="pass_turn")
