"""Placement of story actors: activation on first message, passivation when idle.

The gateway and the REST controllers reach an actor only through a
:class:`SessionRegistry` — ``send``/``ask`` by story id — and register their
sockets with it, so a multi-node registry can replace
:class:`LocalSessionRegistry` without touching the actor or the gateway.

The intended multi-node shape (not built yet): one owner node per story
through a Valkey lease (``SET NX PX`` + a fencing token, renewed by the
owner; the unique (story, seq) index is the last line of defence). A
non-owner relays each message to the owner's stream; a relayed socket is
represented on the owner by a proxy whose outbox publishes, in order, to a
channel of the socket's node (replay frames and live events share that one
channel, so the join's ordering guarantee holds), and the owner's fan-out
publishes each event once per node that has joined sockets. Replies travel
back the same way. The actor only sees ``Connection``/``Outbox``/``Fanout``,
which is what stays unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Protocol
from uuid import UUID

from storyhub.sessions import persistence
from storyhub.sessions.actor import StorySession
from storyhub.sessions.connection import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT, Connection
from storyhub.sessions.fanout import Fanout, LocalFanout
from storyhub.sessions.hooks import AiSeat, ContentFilter, PassingAiSeat, PassThroughFilter
from storyhub.sessions.messages import MailboxFull, Message, Reply, RoleChanged
from storyhub.sessions.protocol import Event
from storyhub.stories.policy import effective_role

log = logging.getLogger("storyhub.sessions")

__all__ = ["LocalSessionRegistry", "MailboxFull", "SessionRegistry"]


class SessionRegistry(Protocol):
    """Where a story's actor lives, and which sockets this node serves."""

    def send(self, story_id: UUID, message: Message) -> None:
        """Deliver ``message`` to the story's actor, activating it; may raise MailboxFull."""

    async def ask(self, story_id: UUID, build: Callable[[Reply], Message]) -> Event:
        """Send ``build(reply)`` and await the actor's answer."""

    def attach(self, conn: Connection) -> None:
        """Track an accepted socket (for revocation)."""

    def detach(self, conn: Connection) -> None:
        """Forget a closed socket."""

    def deliver_if_active(self, story_id: UUID, message: Message) -> bool:
        """Give ``message`` to the story's actor if it is active here; False otherwise."""

    async def collaborator_changed(self, story_id: UUID, user_id: UUID) -> None:
        """Re-authorize the user's sockets on the story at once."""

    async def revoke_user(self, user_id: UUID) -> None:
        """Close every socket of the user (logout, password change)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalSessionRegistry:
    """Every actor lives in this process."""

    def __init__(
        self,
        *,
        idle_seconds: float,
        fanout: Fanout | None = None,
        content_filter: ContentFilter | None = None,
        ai_seat: AiSeat | None = None,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.fanout: Fanout = fanout or LocalFanout()
        self.content_filter: ContentFilter = content_filter or PassThroughFilter()
        self.ai_seat: AiSeat = ai_seat or PassingAiSeat()
        self._sessions: dict[UUID, StorySession] = {}
        self._sockets: dict[UUID, dict[Connection, None]] = {}
        self._stopping = False

    # --- actors -----------------------------------------------------------------------

    def session(self, story_id: UUID) -> StorySession:
        """The story's running actor, activated if needed (synchronous: no await)."""
        if self._stopping:
            raise MailboxFull("the server is shutting down")
        session = self._sessions.get(story_id)
        if session is None or not session.running:
            session = StorySession(story_id, self)
            self._sessions[story_id] = session
            session.start()
        return session

    def send(self, story_id: UUID, message: Message) -> None:
        # session() and send() are both synchronous, so an actor cannot passivate
        # between being found and receiving the message.
        self.session(story_id).send(message)

    async def ask(self, story_id: UUID, build: Callable[[Reply], Message]) -> Event:
        return await self.session(story_id).ask(build)

    def passivated(self, session: StorySession) -> None:
        if self._sessions.get(session.story_id) is session:
            del self._sessions[session.story_id]
        log.info("story session passivated", extra={"storyId": str(session.story_id)})

    def deliver_if_active(self, story_id: UUID, message: Message) -> bool:
        session = self.get_active(story_id)
        if session is None:
            return False
        try:
            session.send(message)
        except MailboxFull:
            log.warning("inbox message dropped: mailbox full", extra={"storyId": str(story_id)})
            return False
        return True

    def active_story_ids(self) -> list[UUID]:
        return list(self._sessions)

    def get_active(self, story_id: UUID) -> StorySession | None:
        session = self._sessions.get(story_id)
        return session if session is not None and session.running else None

    # --- sockets ----------------------------------------------------------------------

    def attach(self, conn: Connection) -> None:
        self._sockets.setdefault(conn.user_id, {})[conn] = None

    def detach(self, conn: Connection) -> None:
        conns = self._sockets.get(conn.user_id)
        if conns is None:
            return
        conns.pop(conn, None)
        if not conns:
            del self._sockets[conn.user_id]

    def sockets_of(self, user_id: UUID) -> Iterator[Connection]:
        yield from list(self._sockets.get(user_id, ()))

    async def collaborator_changed(self, story_id: UUID, user_id: UUID) -> None:
        conns = [c for c in self.sockets_of(user_id) if c.story_id == story_id]
        stored = await persistence.collaborator_role(story_id, user_id)
        story = await persistence.load_story(story_id)
        role = (
            None if story is None else effective_role(stored, is_creator=story.creator == user_id)
        )
        for conn in conns:
            if role is None:
                conn.close(CLOSE_FORBIDDEN, "removedFromStory")
            else:
                conn.role = role
        session = self.get_active(story_id)
        if session is not None:
            try:
                session.send(RoleChanged(user_id=user_id, role=stored if role else None))
            except MailboxFull:
                log.warning(
                    "role change not delivered: mailbox full", extra={"storyId": str(story_id)}
                )

    async def revoke_user(self, user_id: UUID) -> None:
        for conn in self.sockets_of(user_id):
            conn.close(CLOSE_SIGNED_OUT, "signedOut")

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False

    async def stop(self) -> None:
        """Drain every actor, then cancel what is left; sockets get 1012."""
        self._stopping = True
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.stop() for s in sessions), return_exceptions=True)
        self._sessions.clear()
