"""What the app factory plugs in for live sessions: routes, listeners, lifespan."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from litestar import Litestar
from litestar.events import listener

from storyhub.media.tasks import share_prompt_filter
from storyhub.sessions import persistence
from storyhub.sessions.controllers import SessionController
from storyhub.sessions.gateway import story_socket
from storyhub.sessions.inbox import InboxListener, build_notifier
from storyhub.sessions.registry import LocalSessionRegistry
from storyhub.sessions.task_notifier import install_task_notifier
from storyhub.settings import Settings


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


_notifiers: weakref.WeakSet[Any] = weakref.WeakSet()
"""Notifiers of the apps running in this process (an app event reaches each)."""


@listener("collaborator_changed")
async def reauthorize_collaborator_sockets(story_id: Any, user_id: Any, **_: Any) -> None:
    """A collaborator's role changed or they were removed: re-check their sockets now,
    on every node (through Valkey in services mode)."""
    for notifier in list(_notifiers):
        await notifier.collaborator_changed(_uuid(story_id), _uuid(user_id))


@listener("user_sessions_revoked")
async def close_revoked_sockets(user_id: Any, **_: Any) -> None:
    """Logout or password change: close every socket of the user (code 4401), on every node."""
    for notifier in list(_notifiers):
        await notifier.revoke_user(_uuid(user_id))


ROUTE_HANDLERS: list[Any] = [story_socket, SessionController]
LISTENERS: list[Any] = [reauthorize_collaborator_sockets, close_revoked_sockets]


@asynccontextmanager
async def session_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Own the session registry: actors drain before the database pool closes.

    ``app.state.content_filter`` (a :class:`~storyhub.sessions.hooks.ContentFilter`)
    and ``app.state.ai_seat`` (an :class:`~storyhub.sessions.hooks.AiSeat`), when
    set by the app factory, replace the pass-through defaults. It sets
    ``app.state.story_notifier`` (a :class:`~storyhub.sessions.inbox.StoryNotifier`)
    for background work in this process; workers build a ``ValkeyNotifier``.
    """
    settings: Settings = app.state.services.settings
    await persistence.prepare_database(app.state.services.engine)
    # The seams later issues fill: put a ContentFilter / AiSeat on the app state.
    registry = LocalSessionRegistry(
        idle_seconds=settings.session_idle_seconds,
        content_filter=app.state.get("content_filter"),
        ai_seat=app.state.get("ai_seat"),
    )
    app.state.sessions = registry
    valkey = app.state.services.valkey
    notifier = app.state.story_notifier = build_notifier(valkey, registry)
    install_task_notifier(notifier)  # tasks run here (embedded mode) reach the actors
    share_prompt_filter(app.state.get("content_filter"))  # and screen prompts with its filter
    inbox = None if valkey is None else InboxListener(valkey, registry)
    await registry.start()
    _notifiers.add(notifier)
    try:
        if inbox is not None:
            await inbox.start()
        yield
    finally:
        _notifiers.discard(notifier)
        install_task_notifier(None)
        share_prompt_filter(None)
        if inbox is not None:
            await inbox.stop()
        await registry.stop()
