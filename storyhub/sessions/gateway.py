"""The WebSocket route ``/ws/stories/{id}``: check, accept, decode, forward, write.

Before accepting: the Origin header (when present) must be one of
``settings.allowed_origins`` exactly; the caller authenticates with
``Authorization: Bearer`` or a single-use ``?ticket=``; the account must be
active and a collaborator whose age tier allows the story's rating. A refused
upgrade is answered with an HTTP problem-details response (403 origin, 401
token/ticket, 403 account, 404 story) instead of a WebSocket.

After accepting: each text frame is rate-limited (token bucket per socket),
decoded by the one protocol decoder and forwarded to the story's actor; a bad
frame gets ``error {code: "invalidMessage"}`` and the socket stays usable.
Frames above 64 KB are refused by uvicorn (``ws_max_size``) with close 1009.
The actor and the fan-out write to the socket only through its outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from storyhub.accounts.auth import authenticate, bearer_from_header
from storyhub.accounts.principal import Principal
from storyhub.accounts.tokens import TokenService
from storyhub.lib.errors import StoryhubError
from storyhub.lib.text import NUL_MESSAGE, has_nul_escape
from storyhub.sessions import persistence
from storyhub.sessions.connection import Connection, Outbox
from storyhub.sessions.messages import (
    Chat,
    Join,
    Leave,
    MailboxFull,
    RegenerateAi,
    StartVote,
    Submit,
    Vote,
)
from storyhub.sessions.protocol import (
    CastVote,
    Error,
    JoinStory,
    LeaveStory,
    Ping,
    Pong,
    RegenerateAiSegment,
    SendChatMessage,
    StartVoteToEnd,
    SubmitTurn,
    client_msg_id_of,
    command_decoder,
)
from storyhub.sessions.registry import SessionRegistry
from storyhub.sessions.rules import TokenBucket
from storyhub.sessions.wire import SCOPE_KEY
from storyhub.settings import Settings
from storyhub.stories.policy import can_view, effective_role

log = logging.getLogger("storyhub.sessions")

MESSAGES_PER_SECOND = 20.0
MESSAGE_BURST = 40.0
OUTBOX_LIMIT = 256


class Refusal(Exception):
    """The upgrade is refused with an HTTP status and a problem code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


async def _refuse(socket: WebSocket[Any, Any, Any], refusal: Refusal) -> None:
    """Answer the upgrade with a problem-details HTTP response (or a bare 403)."""
    extensions = socket.scope.get("extensions") or {}
    if "websocket.http.response" not in extensions:
        await socket.close(code=1008, reason=refusal.code)
        return
    body = msgspec.json.encode(
        {
            "type": f"https://storyhub.dev/problems/{refusal.code}",
            "title": refusal.code,
            "status": refusal.status,
            "code": refusal.code,
            "detail": refusal.detail,
        }
    )
    await socket.send(
        {
            "type": "websocket.http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await socket.send({"type": "websocket.http.response.body", "body": body, "more_body": False})


def check_origin(origin: str | None, allowed: tuple[str, ...]) -> None:
    """Browsers always send Origin; a cross-site page must not open sockets with
    the user's ticket. No Origin header means a non-browser client."""
    if origin is None:
        return
    if origin.rstrip("/") not in allowed:
        raise Refusal(403, "originNotAllowed", "This origin may not open WebSockets here.")


def _header(socket: WebSocket[Any, Any, Any], name: bytes) -> str | None:
    """A request header (lower-case ``name``) read from the raw ASGI scope.

    Not ``socket.headers``: that builds a Headers mapping (~2.4 KB) which the
    scope then keeps for as long as the socket stays open.
    """
    for key, value in socket.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _query_param(socket: WebSocket[Any, Any, Any], name: str) -> str | None:
    """A query parameter, parsed without caching (see :func:`_header`)."""
    query = socket.scope.get("query_string", b"").decode("latin-1")
    return next((value for key, value in parse_qsl(query) if key == name), None)


async def _principal(socket: WebSocket[Any, Any, Any], story_id: UUID) -> Principal:
    token = bearer_from_header(_header(socket, b"authorization") or "")
    if token is not None:
        tokens: TokenService = socket.app.state.tokens
        try:
            principal, _ = await authenticate(tokens, token)
        except StoryhubError as exc:
            raise Refusal(401, exc.code, exc.message) from None
        return principal
    ticket = _query_param(socket, "ticket")
    if ticket:
        from storyhub.stories.tickets import redeem_ticket, ticket_book

        user_id = await redeem_ticket(ticket_book(socket.app.state), ticket, story_id)
        holder = None if user_id is None else await persistence.load_principal(user_id)
        if holder is None or holder.status == "deactivated":
            raise Refusal(401, "invalidTicket", "The ticket is unknown, used or expired.")
        return holder
    raise Refusal(401, "unauthenticated", "Send 'Authorization: Bearer <token>' or ?ticket=.")


async def authorize_upgrade(
    socket: WebSocket[Any, Any, Any], story_id: UUID, settings: Settings
) -> tuple[Principal, str]:
    """Everything checked before accepting; returns the user and their effective role."""
    check_origin(_header(socket, b"origin"), settings.allowed_origins)
    principal = await _principal(socket, story_id)
    if principal.status != "active":
        raise Refusal(403, "accountInactive", "This account cannot join stories yet.")
    story = await persistence.load_story(story_id)
    stored = None if story is None else await persistence.collaborator_role(story_id, principal.id)
    role = (
        None if story is None else effective_role(stored, is_creator=story.creator == principal.id)
    )
    # Not a collaborator, wrong tier and no such story look alike: no probing.
    if story is None or not can_view(role, principal.age_tier, story.age_rating):  # type: ignore[arg-type]
        raise Refusal(404, "notFound", "No such story.")
    assert role is not None
    return principal, role


class _Reader:
    """Forwards one socket's frames to the story's actor; stopped when the server closes it.

    Everything a socket keeps while it waits lives here and in the handler's
    own frame (no closures, no nested coroutine): it is paid once per idle
    connection.
    """

    __slots__ = ("bucket", "conn", "registry", "server_closed", "task")

    def __init__(self, conn: Connection, registry: SessionRegistry) -> None:
        self.conn = conn
        self.registry = registry
        self.bucket = TokenBucket(rate=MESSAGES_PER_SECOND, burst=MESSAGE_BURST)
        self.task = asyncio.current_task()
        self.server_closed = False

    def stop(self) -> None:
        """The outbox's ``on_close``: the server closed the socket, stop reading it."""
        self.server_closed = True
        if self.task is not None:
            self.task.cancel()

    def error(self, code: str, message: str, client_msg_id: str | None = None) -> None:
        self.conn.outbox.push_event(Error(code=code, message=message, client_msg_id=client_msg_id))

    def on_frame(self, frame: str | bytes) -> None:
        if not self.bucket.allow(time.monotonic()):
            self.error("rateLimited", "Too many messages; slow down.", client_msg_id_of(frame))
            return
        if has_nul_escape(frame):
            self.error("invalidMessage", NUL_MESSAGE, client_msg_id_of(frame))
            return
        try:
            command = command_decoder.decode(frame)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self.error("invalidMessage", str(exc)[:300], client_msg_id_of(frame))
            return
        conn = self.conn
        reply = conn.outbox.push_event
        user = conn.principal
        message: Any
        match command:
            case Ping():
                conn.outbox.push_event(Pong())
                return
            case JoinStory():
                message = Join(conn=conn, command=command)
            case LeaveStory():
                message = Leave(conn=conn, client_msg_id=command.client_msg_id)
            case SubmitTurn():
                message = Submit(user.id, None, command.client_msg_id, command.text, reply, conn)
            case SendChatMessage():
                message = Chat(
                    user.id,
                    None,
                    user.display_name,
                    command.client_msg_id,
                    command.text,
                    reply,
                    conn,
                )
            case StartVoteToEnd():
                message = StartVote(user.id, command.client_msg_id, reply, conn)
            case CastVote():
                message = Vote(
                    user.id, command.client_msg_id, command.vote_id, command.in_favor, reply, conn
                )
            case RegenerateAiSegment():
                message = RegenerateAi(user.id, None, command.client_msg_id, reply, conn)
        try:
            self.registry.send(conn.story_id, message)
        except MailboxFull:
            self.error(
                "busy", "The story is busy; retry shortly.", getattr(command, "client_msg_id", None)
            )


@websocket("/ws/stories/{story_id:uuid}", opt={"exclude_from_auth": True})
async def story_socket(socket: WebSocket[Any, Any, Any], story_id: UUID) -> None:
    """One client's live connection to one story."""
    settings: Settings = socket.app.state.services.settings
    registry: SessionRegistry = socket.app.state.sessions
    try:
        principal, role = await authorize_upgrade(socket, story_id, settings)
    except Refusal as refusal:
        log.info("websocket refused", extra={"storyId": str(story_id), "code": refusal.code})
        await _refuse(socket, refusal)
        return
    except Exception:
        log.exception("websocket upgrade failed", extra={"storyId": str(story_id)})
        await _refuse(socket, Refusal(503, "unavailable", "Try again shortly."))
        return
    await socket.accept()

    sink = socket.scope.get(SCOPE_KEY)  # type: ignore[call-overload]
    outbox = Outbox(socket.send_text, socket.close, limit=OUTBOX_LIMIT, sink=sink)
    conn = Connection(story_id=story_id, principal=principal, role=role, outbox=outbox)
    reader = _Reader(conn, registry)
    registry.attach(conn)
    outbox.on_close = reader.stop
    try:
        while not conn.closed:
            event = await socket.receive()
            if event["type"] == "websocket.disconnect":
                break
            text = event.get("text")
            data = text if isinstance(text, str) else event.get("bytes")
            reader.on_frame(data if isinstance(data, str | bytes) else b"")
    except WebSocketDisconnect:
        pass
    except asyncio.CancelledError:
        if not reader.server_closed:
            raise
        # We closed the socket ourselves (slow consumer, revoked): not an error.
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
    finally:
        outbox.on_close = None
        registry.detach(conn)
        if conn.joined:
            with contextlib.suppress(MailboxFull):
                registry.send(story_id, Leave(conn=conn, disconnected=True))
        if not outbox.closing:
            outbox.close(1000, "")
        await outbox.wait_closed()
