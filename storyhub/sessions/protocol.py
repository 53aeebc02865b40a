"""The WebSocket vocabulary (contract): client commands in, server events out.

Every frame is a JSON text frame holding one object with a ``type`` field.
Commands are decoded by the single :data:`command_decoder` into the
:data:`ClientCommand` union; events are encoded once by :func:`encode_event`
and the same bytes are written to every socket. ``docs/protocol.md`` and
``docs/asyncapi.yaml`` are generated from these Structs
(``scripts/gen_asyncapi.py``); a test keeps them in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta, Struct

from storyhub.stories.schemas import SEQ_MAX

MAX_FRAME_BYTES = 64 * 1024
"""Frames above this are refused by the server with close code 1009."""

ClientMsgId = Annotated[str, Meta(min_length=1, max_length=64)]
"""Chosen by the client, unique per story and kind; a retry reuses it."""
TurnText = Annotated[str, Meta(min_length=1, max_length=16_000)]
ChatText = Annotated[str, Meta(min_length=1, max_length=2_000)]
Seq = Annotated[int, Meta(ge=0, le=SEQ_MAX)]


# --- client -> server -------------------------------------------------------------


class Command(
    Struct,
    tag_field="type",
    frozen=True,
    forbid_unknown_fields=True,
    rename="camel",
    omit_defaults=True,
):
    """Base of every client command."""


class JoinStory(Command, tag="joinStory", frozen=True):
    """Start receiving the story: replay segments after ``lastSeq``, then live events.

    With a ``clientMsgId`` the join is answered, after the replay and the
    snapshot (``presence``, ``newTurn``, an open vote, ``storyEnded``), by
    ``ack {seq}`` where ``seq`` is the story's latest segment."""

    last_seq: Seq | None = None
    """The highest ``seq`` this client has; omitted or null replays from the start."""
    client_msg_id: ClientMsgId | None = None
    """Optional: when given, the join is answered by an ``ack`` after the replay."""
    batch: bool = False
    """Opt in to ``batch`` frames: when this socket falls behind, the events
    waiting for it are sent together, in order, in one frame."""


class LeaveStory(Command, tag="leaveStory", frozen=True):
    """Stop receiving the story (the socket stays open)."""

    client_msg_id: ClientMsgId | None = None


class SubmitTurn(Command, tag="submitTurn", frozen=True):
    """Add a segment; only the current turn holder (a writer) may."""

    client_msg_id: ClientMsgId
    text: TurnText


class SendChatMessage(Command, tag="sendChatMessage", frozen=True):
    """Say something in the story's chat (writers: owner, authors, editors)."""

    client_msg_id: ClientMsgId
    text: ChatText


class StartVoteToEnd(Command, tag="startVoteToEnd", frozen=True):
    """Propose ending the story; the proposer's vote counts in favour."""

    client_msg_id: ClientMsgId


class CastVote(Command, tag="castVote", frozen=True):
    """Vote on the open vote to end."""

    client_msg_id: ClientMsgId
    vote_id: Annotated[str, Meta(min_length=1, max_length=64)]
    in_favor: bool


class RegenerateAiSegment(Command, tag="regenerateAiSegment", frozen=True):
    """Ask the AI narrator to write its last segment again (writers only).

    Allowed while the story's last segment is the AI's and no later segment
    exists. The AI seat takes the turn back (``newTurn`` reason
    ``aiRegenerating``); its new text replaces that segment's content under the
    same ``seq`` (``storyUpdated`` with ``revised: true`` and a higher
    ``revision``), then the turn moves on. Answered by ``ack {seq}`` at once."""

    client_msg_id: ClientMsgId


class Ping(Command, tag="ping", frozen=True):
    """Keep-alive; answered by ``pong``."""


ClientCommand = (
    JoinStory
    | LeaveStory
    | SubmitTurn
    | SendChatMessage
    | StartVoteToEnd
    | CastVote
    | RegenerateAiSegment
    | Ping
)
CLIENT_COMMANDS: tuple[type[Command], ...] = (
    JoinStory,
    LeaveStory,
    SubmitTurn,
    SendChatMessage,
    StartVoteToEnd,
    CastVote,
    RegenerateAiSegment,
    Ping,
)

command_decoder = msgspec.json.Decoder(ClientCommand)
"""The one decoder for every client frame."""


def client_msg_id_of(frame: str | bytes) -> str | None:
    """Best-effort ``clientMsgId`` from a frame that failed to decode, for the error."""
    try:
        raw = msgspec.json.decode(frame)
    except msgspec.DecodeError:
        return None
    if isinstance(raw, dict):
        value = raw.get("clientMsgId")
        if isinstance(value, str) and 0 < len(value) <= 64:
            return value
    return None


# --- server -> client -------------------------------------------------------------


class Event(Struct, tag_field="type", frozen=True, rename="camel"):
    """Base of every server event."""


class PresentUser(Struct, frozen=True, rename="camel"):
    user_id: UUID
    display_name: str
    role: Literal["owner", "author", "editor", "viewer"]


class SegmentView(Struct, frozen=True, rename="camel"):
    """One committed segment as clients see it."""

    seq: int
    author_id: UUID | None
    """``null`` for the AI narrator."""
    content: str
    created_at: datetime
    image_url: str | None = None
    audio_url: str | None = None
    video_url: str | None = None
    revision: int = 0
    """0 as first written; each regeneration of the AI's text adds one."""


class ChatView(Struct, frozen=True, rename="camel"):
    id: int
    author_id: UUID | None
    display_name: str
    content: str
    created_at: datetime


class UserJoined(Event, tag="userJoined", frozen=True):
    """A user's first socket joined the story."""

    user_id: UUID
    display_name: str
    role: Literal["owner", "author", "editor", "viewer"]


class UserLeft(Event, tag="userLeft", frozen=True):
    """A user's last socket left the story."""

    user_id: UUID


class Presence(Event, tag="presence", frozen=True):
    """Everyone present now (several sockets of one user count once).

    Sent to a socket when it joins, and to everyone when a role changes;
    ``userJoined``/``userLeft`` carry the changes in between."""

    users: list[PresentUser]


TurnReason = Literal[
    "started",
    "submitted",
    "skipped",
    "aiPassed",
    "aiRegenerating",
    "rosterChanged",
    "resumed",
    "storyEnded",
]


class NewTurn(Event, tag="newTurn", frozen=True):
    """Whose turn it is now and until when."""

    user_id: UUID | None
    """``null`` for the AI narrator's seat."""
    deadline: datetime | None
    """When the turn is skipped if nothing is submitted; ``null`` when nobody holds it."""
    reason: TurnReason = "started"
    previous_user_id: UUID | None = None
    ai_seat: bool = False
    """True when the holder is the AI narrator (``userId`` is then null)."""


class StoryUpdated(Event, tag="storyUpdated", frozen=True):
    """A segment was committed (or is replayed on join), or the AI's last segment was
    written again (``revised: true``: replace what you hold for that ``seq``, its media
    links included — they are null until media is made from the new text)."""

    segment: SegmentView
    replay: bool = False
    revised: bool = False


class AiTurnSkipped(Event, tag="aiTurnSkipped", omit_defaults=True, frozen=True):
    """The AI narrator gives up its turn without writing: its text was blocked by the
    safety filter every time (``contentBlocked``), or writing it failed (``failed``).
    A ``newTurn`` with reason ``aiPassed`` follows."""

    reason: Literal["contentBlocked", "failed"]
    attempts: int
    """How many texts were written (and refused) for this turn."""
    seq: int | None = None
    """Set when a regeneration of that segment was given up (it keeps its text)."""


class ChatMessageReceived(Event, tag="chatMessageReceived", frozen=True):
    message: ChatView


class VoteStarted(Event, tag="voteStarted", frozen=True):
    vote_id: str
    started_by: UUID
    expires_at: datetime
    in_favor: int
    against: int
    present_authors: int
    """A vote passes when more than half of the present authors are in favour."""


VoteStatus = Literal["open", "passed", "rejected", "expired"]


class VoteUpdated(Event, tag="voteUpdated", frozen=True):
    vote_id: str
    status: VoteStatus
    in_favor: int
    against: int
    present_authors: int


class StoryEnded(Event, tag="storyEnded", frozen=True):
    reason: Literal["vote", "owner"]
    last_seq: int
    ended_at: datetime | None = None


MediaKind = Literal["image", "audio", "video", "cover"]


class MediaReady(Event, tag="mediaReady", frozen=True):
    """A generated image, narration or video is ready for a segment (or the story's cover)."""

    seq: int | None
    """``null`` for the cover, which belongs to the story."""
    kind: MediaKind
    url: str
    """The authorized download route (``/media/{assetId}``); send the access token."""


class MediaFailed(Event, tag="mediaFailed", omit_defaults=True, frozen=True):
    """A media request failed for good (after any retries); ``message`` says why."""

    seq: int | None
    """``null`` for the cover."""
    kind: MediaKind
    code: str
    message: str
    task_id: str | None = None
    """The ``taskId`` the request answered (``GET /tasks/{taskId}`` says the same)."""
    requested_by: str | None = None


class BookProgress(Event, tag="bookProgress", omit_defaults=True, frozen=True):
    """A book of the story changed state; ``error`` says why for ``failed``."""

    book_id: str
    format: str
    status: Literal["queued", "building", "ready", "failed"]
    requested_by: str | None = None
    error: str | None = None


class Ack(Event, tag="ack", omit_defaults=True, frozen=True):
    """A command succeeded; ``seq`` for a turn, ``messageId`` for chat, ``voteId`` for a vote."""

    client_msg_id: str
    seq: int | None = None
    message_id: int | None = None
    vote_id: str | None = None


class Error(Event, tag="error", omit_defaults=True, frozen=True):
    """A command (or frame) was refused; ``code`` is stable, ``message`` is for humans."""

    code: str
    message: str
    client_msg_id: str | None = None
    categories: list[str] = msgspec.field(default_factory=list)
    """For ``contentBlocked``: why the safety layer refused the text (omitted otherwise)."""


class Pong(Event, tag="pong", frozen=True):
    pass


ServerEvent = (
    UserJoined
    | UserLeft
    | Presence
    | NewTurn
    | StoryUpdated
    | AiTurnSkipped
    | ChatMessageReceived
    | VoteStarted
    | VoteUpdated
    | StoryEnded
    | MediaReady
    | MediaFailed
    | BookProgress
    | Ack
    | Error
    | Pong
)


class Batch(Event, tag="batch", frozen=True):
    """Several events for a socket that joined with ``batch: true`` and fell
    behind, in order; read them as if they had come one frame each."""

    events: list[ServerEvent]


SERVER_EVENTS: tuple[type[Event], ...] = (
    UserJoined,
    UserLeft,
    Presence,
    NewTurn,
    StoryUpdated,
    AiTurnSkipped,
    ChatMessageReceived,
    VoteStarted,
    VoteUpdated,
    StoryEnded,
    MediaReady,
    MediaFailed,
    BookProgress,
    Ack,
    Error,
    Pong,
    Batch,
)
BATCH_PREFIX = '{"type":"batch","events":['
"""A batch frame is built by joining already-encoded events: nothing is encoded twice."""

_encoder = msgspec.json.Encoder()


def encode_event(event: Event) -> str:
    """Encode ``event`` once; the returned text is written as-is to every socket."""
    return _encoder.encode(event).decode()


event_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(ServerEvent | Batch)
"""For clients and tests: the server's events as Structs."""

ERROR_CODES: dict[str, str] = {
    "invalidMessage": "The frame is not JSON, names an unknown type or has wrong fields.",
    "rateLimited": "Too many messages on this socket; slow down.",
    "notJoined": "Send joinStory before this command.",
    "forbidden": "Your role in this story does not allow this.",
    "notYourTurn": "Someone else holds the turn.",
    "storyEnded": "The story is completed; nothing more can be added.",
    "clientMsgIdReused": "This clientMsgId was already used for a different command.",
    "textTooLong": "The text is longer than the story's maximum segment length.",
    "contentRejected": "The safety layer refused the text.",
    "contentBlocked": "The safety filter blocked the text; `categories` says why.",
    "voteInProgress": "A vote to end is already open.",
    "voteNotFound": "No open vote has this id.",
    "alreadyVoted": "You already voted in this vote.",
    "notPresent": "Only authors present in the story may vote.",
    "nothingToRegenerate": "The story's last segment is not the AI narrator's.",
    "aiBusy": "The AI narrator is writing already; wait for its text.",
    "busy": "The story's session is overloaded; retry shortly.",
    "unavailable": "The story's session is not available; retry shortly.",
}
"""Stable ``error.code`` values and what they mean."""

CLOSE_CODES: dict[int, str] = {
    1000: "Normal closure.",
    1008: "Refused: the socket was used in a way the protocol does not allow.",
    1009: "A frame was larger than 64 KB.",
    1011: "Unexpected server error.",
    1012: "The server is restarting; reconnect and resume with joinStory {lastSeq}.",
    4008: "Slow consumer: the socket fell 256 events behind the room. A socket whose"
    " peer stopped reading entirely is dropped without a close frame (seen as 1006).",
    4401: "Signed out: the user's sessions were revoked (logout or password change).",
    4403: "No longer allowed: removed from the story or the account is no longer active.",
}
"""WebSocket close codes the server uses after accepting a socket."""
