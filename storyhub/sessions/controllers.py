"""REST doors into the session actor: submit a turn, regenerate the AI's, end a story.

Both go through the same actor as the WebSocket commands, so ordering,
durability and idempotency are the same whichever door a client uses.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody

from storyhub.accounts.auth import require_active
from storyhub.accounts.principal import Principal
from storyhub.lib.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    StoryhubError,
    Unavailable,
)
from storyhub.sessions import persistence
from storyhub.sessions.messages import EndStory, MailboxFull, RegenerateAi, Submit
from storyhub.sessions.protocol import Ack, ClientMsgId, Error, Event, TurnText
from storyhub.sessions.registry import SessionRegistry
from storyhub.stories.policy import can_view, effective_role


class TurnIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    client_msg_id: ClientMsgId
    text: TurnText


class TurnAccepted(msgspec.Struct, frozen=True, rename="camel"):
    story_id: UUID
    seq: int
    client_msg_id: str


class RegenerateIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    client_msg_id: ClientMsgId


class RegenerationQueued(msgspec.Struct, frozen=True, rename="camel"):
    story_id: UUID
    seq: int
    """The AI's segment that will be written again (same seq, new text)."""
    client_msg_id: str


class StoryCompleted(msgspec.Struct, frozen=True, rename="camel"):
    story_id: UUID
    status: str
    last_seq: int


_ERRORS: dict[str, type[StoryhubError]] = {
    "forbidden": Forbidden,
    "notYourTurn": Conflict,
    "storyEnded": Conflict,
    "clientMsgIdReused": Conflict,
    "textTooLong": InvalidInput,
    "contentRejected": InvalidInput,
    "contentBlocked": InvalidInput,
    "nothingToRegenerate": Conflict,
    "aiBusy": Conflict,
    "busy": Unavailable,
    "unavailable": Unavailable,
}


def _raise_for(event: Event) -> Ack:
    """The ack, or the actor's error as an HTTP problem with the same code."""
    if isinstance(event, Ack):
        return event
    if isinstance(event, Error):
        raise _ERRORS.get(event.code, Conflict)(event.message, code=event.code)
    raise Unavailable("Unexpected answer from the story session.")  # pragma: no cover


async def _role(story_id: UUID, caller: Principal) -> str:
    story = await persistence.load_story(story_id)
    stored = None if story is None else await persistence.collaborator_role(story_id, caller.id)
    role = None if story is None else effective_role(stored, is_creator=story.creator == caller.id)
    if story is None or not can_view(role, caller.age_tier, story.age_rating):  # type: ignore[arg-type]
        raise NotFound("No such story.")
    assert role is not None
    return role


def _registry(request: Request[Any, Any, Any]) -> SessionRegistry:
    registry: SessionRegistry = request.app.state.sessions
    return registry


class SessionController(Controller):
    """Turns and the end of a story, through the story's actor."""

    path = "/stories/{story_id:uuid}"
    tags = ["sessions"]
    guards = [require_active]

    @post("/turns", status_code=201)
    async def submit_turn(
        self, request: Request[Any, Any, Any], story_id: UUID, data: JSONBody[TurnIn]
    ) -> TurnAccepted:
        """Add a segment when it is the caller's turn; a retry with the same
        ``clientMsgId`` returns the original ``seq`` and creates nothing."""
        caller: Principal = request.user
        role = await _role(story_id, caller)
        try:
            answer = await _registry(request).ask(
                story_id,
                lambda reply: Submit(caller.id, role, data.client_msg_id, data.text, reply),
            )
        except (MailboxFull, TimeoutError):
            raise Unavailable("The story is busy; retry shortly.", code="busy") from None
        ack = _raise_for(answer)
        assert ack.seq is not None
        return TurnAccepted(story_id=story_id, seq=ack.seq, client_msg_id=data.client_msg_id)

    @post("/turns/regenerate", status_code=202)
    async def regenerate_ai_segment(
        self, request: Request[Any, Any, Any], story_id: UUID, data: JSONBody[RegenerateIn]
    ) -> RegenerationQueued:
        """Ask the AI narrator to write its last segment again (writers; only while no
        later segment exists). The new text replaces that segment's content; the room
        gets ``storyUpdated`` with ``revised: true``."""
        caller: Principal = request.user
        role = await _role(story_id, caller)
        try:
            answer = await _registry(request).ask(
                story_id,
                lambda reply: RegenerateAi(caller.id, role, data.client_msg_id, reply),
            )
        except (MailboxFull, TimeoutError):
            raise Unavailable("The story is busy; retry shortly.", code="busy") from None
        ack = _raise_for(answer)
        assert ack.seq is not None
        return RegenerationQueued(story_id=story_id, seq=ack.seq, client_msg_id=data.client_msg_id)

    @post("/end", status_code=200)
    async def end_story(self, request: Request[Any, Any, Any], story_id: UUID) -> StoryCompleted:
        """The owner ends the story (idempotent): ``storyEnded`` reaches every socket."""
        caller: Principal = request.user
        await _role(story_id, caller)
        try:
            answer = await _registry(request).ask(
                story_id, lambda reply: EndStory(user_id=caller.id, reply=reply)
            )
        except (MailboxFull, TimeoutError):
            raise Unavailable("The story is busy; retry shortly.", code="busy") from None
        ack = _raise_for(answer)
        return StoryCompleted(story_id=story_id, status="completed", last_seq=ack.seq or 0)
