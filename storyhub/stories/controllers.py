"""HTTP glue for stories: parse, call :mod:`storyhub.stories.service`, answer.

Turn submission and ending a story go through the session actor and live
with it (``storyhub.sessions``), not here.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.events import listener
from litestar.params import JSONBody, Parameter

from storyhub.accounts.auth import require_active
from storyhub.accounts.principal import Principal
from storyhub.sessions.hooks import ContentFilter
from storyhub.stories import collaborators, service, timeline
from storyhub.stories.policy import StoryStatus
from storyhub.stories.schemas import (
    ROW_ID_MAX,
    SEQ_MAX,
    ChatPage,
    CollaboratorInvite,
    CollaboratorList,
    CollaboratorOut,
    CollaboratorRoleChange,
    SegmentPage,
    StoryCreate,
    StoryOut,
    StoryPage,
    StoryPatch,
    WsTicketOut,
)
from storyhub.stories.tickets import ticket_book

log = logging.getLogger("storyhub.stories")

COLLABORATOR_CHANGED = "collaborator_changed"
"""Emitted with ``story_id`` and ``user_id`` (UUIDs) when a collaborator's role
changes or they are removed, so live sockets are re-authorized at once."""

PageLimit = Annotated[int, Parameter(ge=1, le=500, description="At most this many items.")]
LibraryLimit = Annotated[
    int, Parameter(ge=1, le=service.LIBRARY_LIMIT_MAX, description="At most this many stories.")
]


@listener(COLLABORATOR_CHANGED)
async def log_collaborator_changed(story_id: UUID, user_id: UUID, **_: Any) -> None:
    """Record membership changes.

    Litestar's emitter raises when an event has no listener, so this one
    always exists; the sessions gateway adds its own to re-authorize sockets.
    """
    log.info("collaborator changed", extra={"storyId": str(story_id), "userId": str(user_id)})


def _caller(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


def _filter(request: Request[Any, Any, Any]) -> ContentFilter:
    """The room filter the safety lifespan built (the one live rooms use)."""
    content_filter: ContentFilter = request.app.state.content_filter
    return content_filter


class StoryController(Controller):
    """Stories, their collaborators, segments, chat and WebSocket tickets."""

    path = "/stories"
    tags = ["stories"]
    guards = [require_active]

    @post("/", status_code=201)
    async def create_story(
        self, request: Request[Any, Any, Any], data: JSONBody[StoryCreate]
    ) -> StoryOut:
        """Create a story; the caller owns it. Title and premise pass the safety filter."""
        return await service.create_story(_caller(request), data, _filter(request))

    @get("/")
    async def list_stories(
        self,
        request: Request[Any, Any, Any],
        limit: LibraryLimit = 20,
        cursor: str | None = None,
        status: StoryStatus | None = None,
    ) -> StoryPage:
        """The caller's library: own and collaborating stories their age tier allows."""
        return await service.list_library(
            _caller(request), limit=limit, cursor=cursor, status=status
        )

    @get("/{story_id:uuid}")
    async def get_story(self, request: Request[Any, Any, Any], story_id: UUID) -> StoryOut:
        """One story, for its collaborators."""
        return await service.get_story(_caller(request), story_id)

    @patch("/{story_id:uuid}")
    async def update_story(
        self, request: Request[Any, Any, Any], story_id: UUID, data: JSONBody[StoryPatch]
    ) -> StoryOut:
        """Change title, premise, settings, rating or visibility (the owner only)."""
        return await service.update_story(_caller(request), story_id, data, _filter(request))

    @post("/{story_id:uuid}/collaborators", status_code=201)
    async def invite(
        self, request: Request[Any, Any, Any], story_id: UUID, data: JSONBody[CollaboratorInvite]
    ) -> CollaboratorOut:
        """Add someone by ``userId`` or ``email`` (owner and editors)."""
        return await collaborators.invite_collaborator(_caller(request), story_id, data)

    @get("/{story_id:uuid}/collaborators")
    async def list_collaborators(
        self, request: Request[Any, Any, Any], story_id: UUID
    ) -> CollaboratorList:
        """Everyone on the story: ids, display names and roles (never emails)."""
        return CollaboratorList(await collaborators.list_collaborators(_caller(request), story_id))

    @patch("/{story_id:uuid}/collaborators/{user_id:uuid}")
    async def change_role(
        self,
        request: Request[Any, Any, Any],
        story_id: UUID,
        user_id: UUID,
        data: JSONBody[CollaboratorRoleChange],
    ) -> CollaboratorOut:
        """Give a collaborator another role (the owner only)."""
        changed = await collaborators.change_role(_caller(request), story_id, user_id, data.role)
        request.app.emit(COLLABORATOR_CHANGED, story_id=story_id, user_id=user_id)
        return changed

    @delete("/{story_id:uuid}/collaborators/{user_id:uuid}", status_code=204)
    async def remove_collaborator(
        self, request: Request[Any, Any, Any], story_id: UUID, user_id: UUID
    ) -> None:
        """Remove a collaborator (the owner), or leave the story yourself."""
        await collaborators.remove_collaborator(_caller(request), story_id, user_id)
        request.app.emit(COLLABORATOR_CHANGED, story_id=story_id, user_id=user_id)

    @get("/{story_id:uuid}/segments")
    async def list_segments(
        self,
        request: Request[Any, Any, Any],
        story_id: UUID,
        after_seq: Annotated[int, Parameter(query="afterSeq", ge=0, le=SEQ_MAX)] = 0,
        limit: PageLimit = 100,
    ) -> SegmentPage:
        """Committed segments after ``afterSeq``, in order."""
        return await timeline.list_segments(
            _caller(request), story_id, after_seq=after_seq, limit=limit
        )

    @get("/{story_id:uuid}/chat")
    async def list_chat(
        self,
        request: Request[Any, Any, Any],
        story_id: UUID,
        after_id: Annotated[int, Parameter(query="afterId", ge=0, le=ROW_ID_MAX)] = 0,
        limit: PageLimit = 100,
    ) -> ChatPage:
        """Chat messages after ``afterId``, in order."""
        return await timeline.list_chat(_caller(request), story_id, after_id=after_id, limit=limit)

    @post("/{story_id:uuid}/ws-ticket", status_code=200)
    async def ws_ticket(
        self, request: Request[Any, Any, Any], state: State, story_id: UUID
    ) -> WsTicketOut:
        """A single-use ticket (``?ticket=`` on ``/ws/stories/{id}``) for browsers."""
        return await service.issue_ws_ticket(_caller(request), story_id, ticket_book(state))


LISTENERS = [log_collaborator_changed]
