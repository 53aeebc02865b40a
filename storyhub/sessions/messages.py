"""What can be put in a story actor's mailbox (internal; the wire vocabulary is
:mod:`storyhub.sessions.protocol`).

Commands from the WebSocket carry their :class:`Connection` (its live role is
checked when the actor handles them); commands from REST carry ``conn=None``
and the role the controller loaded. ``reply`` receives exactly one ``Ack`` or
``Error``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from storyhub.sessions.connection import Connection
from storyhub.sessions.protocol import Event, JoinStory

Reply = Callable[[Event], object]
"""Receives the one ``Ack`` or ``Error`` for a command (its result is ignored)."""


class MailboxFull(Exception):
    """The actor's mailbox is full (or it is stopping); the message was not accepted."""


@dataclass(slots=True)
class Join:
    """A socket joins: replay after ``command.lastSeq``, then live events."""

    conn: Connection
    command: JoinStory


@dataclass(slots=True)
class Leave:
    """A socket leaves (``leaveStory``) or closed (``disconnected``)."""

    conn: Connection
    client_msg_id: str | None = None
    disconnected: bool = False


@dataclass(slots=True)
class Submit:
    """Add a segment."""

    user_id: UUID
    role: str | None
    client_msg_id: str
    text: str
    reply: Reply
    conn: Connection | None = None


@dataclass(slots=True)
class Chat:
    """Say something in the story's chat."""

    user_id: UUID
    role: str | None
    display_name: str
    client_msg_id: str
    text: str
    reply: Reply
    conn: Connection | None = None


@dataclass(slots=True)
class StartVote:
    """Propose to end the story."""

    user_id: UUID
    client_msg_id: str
    reply: Reply
    conn: Connection | None = None


@dataclass(slots=True)
class Vote:
    """Vote on the open vote to end."""

    user_id: UUID
    client_msg_id: str
    vote_id: str
    in_favor: bool
    reply: Reply
    conn: Connection | None = None


@dataclass(slots=True)
class EndStory:
    """The owner ends the story (``POST /stories/{id}/end``)."""

    user_id: UUID
    reply: Reply
    client_msg_id: str = "end"


@dataclass(slots=True)
class RoleChanged:
    """A collaborator's stored role changed, or they were removed (``role`` None)."""

    user_id: UUID
    role: str | None


@dataclass(slots=True)
class RegenerateAi:
    """A writer asks for the AI's last segment to be written again."""

    user_id: UUID
    role: str | None
    client_msg_id: str
    reply: Reply
    conn: Connection | None = None


@dataclass(slots=True)
class AiSegmentReady:
    """The AI seat's text for the turn it holds (from a background task).

    ``turn_seq`` is the story's last seq when the turn began (``None``: whatever
    turn the seat holds now); text for another turn is dropped.
    """

    text: str
    turn_seq: int | None = None
    attempt: int = 0
    revise_seq: int | None = None
    provider: str = ""
    model: str = ""


@dataclass(slots=True)
class AiSegmentFailed:
    """The narrator task for the seat's turn failed for good: the seat passes."""

    turn_seq: int | None = None
    attempt: int = 0
    revise_seq: int | None = None


@dataclass(slots=True)
class Broadcast:
    """An event produced outside the actor (e.g. ``mediaReady`` from a media task),
    published in order with the story's other events."""

    event: Event


@dataclass(slots=True)
class Stop:
    """Drain what is queued before this, then stop."""


Message = (
    Join
    | Leave
    | Submit
    | Chat
    | StartVote
    | Vote
    | EndStory
    | RoleChanged
    | RegenerateAi
    | AiSegmentReady
    | AiSegmentFailed
    | Broadcast
    | Stop
)
