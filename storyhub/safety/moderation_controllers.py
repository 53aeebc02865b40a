"""HTTP glue for the moderation queue (``/moderation/items``); moderators and admins only.

Age-verification review lives beside it under ``/moderation/verifications``
(``storyhub/accounts/verification_controllers.py``): both are the moderator's
desk, one path prefix.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import JSONBody, Parameter

from storyhub.accounts.auth import require_active, require_role
from storyhub.accounts.principal import Principal
from storyhub.lib.clients import client_ip
from storyhub.lib.crypto import FieldCipher
from storyhub.safety.moderation import (
    MAX_PAGE,
    Decision,
    ItemDetail,
    ItemPage,
    ModerationQueue,
    Status,
)


class DecisionRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    decision: Decision
    note: str | None = None
    """Why (kept in the audit log, shown in the item's history). Do not quote the content."""


def provide_queue(cipher: FieldCipher) -> ModerationQueue:
    return ModerationQueue(cipher)


NO_STORE = {"Cache-Control": "no-store"}
"""Answers that carry a child's text must not be kept by browsers or proxies."""


class ModerationItemController(Controller):
    """The queue of blocked content: list, read, decide."""

    path = "/moderation/items"
    tags = ["moderation"]
    guards = [require_active, require_role("moderator", "admin")]
    dependencies = {"queue": Provide(provide_queue, sync_to_thread=False)}

    @get("/")
    async def list_items(
        self,
        queue: ModerationQueue,
        status: Status | Literal["all"] = "pending",
        story_id: Annotated[UUID | None, Parameter(query="storyId")] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 50,
        cursor: str | None = None,
    ) -> ItemPage:
        """Items in ``status`` (default ``pending``; ``all`` for every status), oldest first.

        The list never carries the blocked text; open an item to read it.
        """
        return await queue.list_items(
            status=None if status == "all" else status,
            story_id=story_id,
            limit=limit,
            cursor=cursor,
        )

    @get("/{item_id:uuid}")
    async def show(
        self, request: Request[Principal, Any, State], item_id: UUID, queue: ModerationQueue
    ) -> Response[ItemDetail]:
        """One item with the decrypted text, story title and author display name (audited)."""
        detail = await queue.get_item(item_id, viewer_id=request.user.id, ip=client_ip(request))
        return Response(detail, headers=NO_STORE)

    @post("/{item_id:uuid}/decision", status_code=200)
    async def decide(
        self,
        request: Request[Principal, Any, State],
        item_id: UUID,
        data: JSONBody[DecisionRequest],
        queue: ModerationQueue,
    ) -> Response[ItemDetail]:
        """``uphold`` (the block stands), ``release`` (a false positive; nothing is
        published) or ``escalate`` (to an admin)."""
        detail = await queue.decide(
            item_id, data.decision, data.note, reviewer=request.user, ip=client_ip(request)
        )
        return Response(detail, headers=NO_STORE)


ROUTE_HANDLERS: list[Any] = [ModerationItemController]
