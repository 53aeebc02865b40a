"""HTTP glue for story memory (pinned facts) and lore: parse, call the service, answer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import JSONBody

from storyhub.accounts.auth import require_active
from storyhub.accounts.principal import Principal
from storyhub.sessions.hooks import ContentFilter
from storyhub.stories import memory_service as service
from storyhub.stories.memory_schemas import (
    FactIn,
    FactList,
    FactOut,
    LoreIn,
    LoreList,
    LoreOut,
    LorePatch,
)


def _caller(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


def _filter(request: Request[Any, Any, Any]) -> ContentFilter:
    """The room filter the safety lifespan built (the one live rooms use)."""
    content_filter: ContentFilter = request.app.state.content_filter
    return content_filter


class StoryMemoryController(Controller):
    """Pinned facts and lore entries: every collaborator reads, writers change."""

    path = "/stories/{story_id:uuid}"
    tags = ["story memory"]
    guards = [require_active]

    @get("/memory")
    async def list_facts(self, request: Request[Any, Any, Any], story_id: UUID) -> FactList:
        """The story's pinned facts, in the order the narrator gets them."""
        return await service.list_facts(_caller(request), story_id)

    @post("/memory", status_code=201)
    async def add_fact(
        self, request: Request[Any, Any, Any], story_id: UUID, data: JSONBody[FactIn]
    ) -> FactOut:
        """Pin a fact (owner, editors, authors); the safety filter checks it first."""
        return await service.add_fact(_caller(request), story_id, data, _filter(request))

    @delete("/memory/{fact_id:uuid}", status_code=204)
    async def delete_fact(
        self, request: Request[Any, Any, Any], story_id: UUID, fact_id: UUID
    ) -> None:
        """Unpin a fact (owner, editors, authors)."""
        await service.delete_fact(_caller(request), story_id, fact_id)

    @get("/lore")
    async def list_lore(self, request: Request[Any, Any, Any], story_id: UUID) -> LoreList:
        """The story's lore entries, oldest first."""
        return await service.list_lore(_caller(request), story_id)

    @post("/lore", status_code=201)
    async def add_lore(
        self, request: Request[Any, Any, Any], story_id: UUID, data: JSONBody[LoreIn]
    ) -> LoreOut:
        """Add a lore entry with its trigger words (owner, editors, authors)."""
        return await service.add_lore(_caller(request), story_id, data, _filter(request))

    @patch("/lore/{lore_id:uuid}")
    async def update_lore(
        self,
        request: Request[Any, Any, Any],
        story_id: UUID,
        lore_id: UUID,
        data: JSONBody[LorePatch],
    ) -> LoreOut:
        """Change a lore entry's name, triggers or text (owner, editors, authors)."""
        return await service.update_lore(
            _caller(request), story_id, lore_id, data, _filter(request)
        )

    @delete("/lore/{lore_id:uuid}", status_code=204)
    async def delete_lore(
        self, request: Request[Any, Any, Any], story_id: UUID, lore_id: UUID
    ) -> None:
        """Remove a lore entry (owner, editors, authors)."""
        await service.delete_lore(_caller(request), story_id, lore_id)


ROUTE_HANDLERS = [StoryMemoryController]
