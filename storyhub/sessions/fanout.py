"""One broadcast abstraction: a story's events reach every joined socket.

The actor publishes each event once, already encoded; the fan-out writes the
same text to every subscribed :class:`~storyhub.sessions.connection.Outbox`.
:class:`LocalFanout` serves one process (embedded mode, and services mode
with one node per story through the local registry). A Valkey pub/sub fan-out
for several nodes implements the same protocol: ``publish`` sends to the
story's channel and each node's listener calls the local delivery; outboxes
drop segments they already delivered, so relays may overlap a replay.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from storyhub.sessions.connection import Outbox
from storyhub.sessions.wire import text_frame


class Fanout(Protocol):
    """Where a story's events go."""

    def subscribe(self, story_id: UUID, outbox: Outbox) -> None:
        """Deliver ``story_id``'s events published from now on to ``outbox``."""

    def unsubscribe(self, story_id: UUID, outbox: Outbox) -> None:
        """Stop delivering to ``outbox`` (idempotent)."""

    def publish(self, story_id: UUID, frame: str, seq: int | None = None) -> None:
        """Send one encoded event (``seq`` set for a segment) to every subscriber."""

    def subscriber_count(self, story_id: UUID) -> int:
        """How many sockets this node delivers ``story_id`` to."""


class LocalFanout:
    """In-process fan-out: a set of outboxes per story, written synchronously."""

    def __init__(self) -> None:
        self._subscribers: dict[UUID, dict[Outbox, None]] = {}

    def subscribe(self, story_id: UUID, outbox: Outbox) -> None:
        self._subscribers.setdefault(story_id, {})[outbox] = None

    def unsubscribe(self, story_id: UUID, outbox: Outbox) -> None:
        subscribers = self._subscribers.get(story_id)
        if subscribers is None:
            return
        subscribers.pop(outbox, None)
        if not subscribers:
            del self._subscribers[story_id]

    def publish(self, story_id: UUID, frame: str, seq: int | None = None) -> None:
        subscribers = self._subscribers.get(story_id)
        if not subscribers:
            return
        wire = text_frame(frame.encode())  # once for the whole room
        slow = [outbox for outbox in subscribers if not outbox.push(frame, seq=seq, wire=wire)]
        # A socket closed as too slow (or already closing) gets nothing more.
        for outbox in slow:
            self.unsubscribe(story_id, outbox)

    def subscriber_count(self, story_id: UUID) -> int:
        return len(self._subscribers.get(story_id, ()))
