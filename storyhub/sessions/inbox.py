"""Into story sessions from elsewhere: media results, the AI seat's text, revocations.

Background tasks run in worker processes in services mode, while the story's
actor lives in an API process. A task reports through a :class:`StoryNotifier`:

* embedded mode (tasks run in the API process): :class:`LocalNotifier` puts
  the message straight into the registry;
* services mode: :class:`ValkeyNotifier` publishes one envelope on
  :data:`CHANNEL`; every API node runs an :class:`InboxListener` that hands
  it to the story's actor if that node has it active (a node without the
  story has no socket that cares; the result is in the database anyway).

``mediaReady`` is published in order with the story's other events; AI text
goes through the turn rules like any segment (dropped if the AI seat no
longer holds the turn). Logout and collaborator changes travel the same way,
so a user's sockets are closed or re-checked on whichever node holds them.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from typing import Literal, Protocol
from uuid import UUID

import msgspec
from valkey.asyncio import Valkey

from storyhub.sessions.messages import AiSegmentFailed, AiSegmentReady, Broadcast
from storyhub.sessions.protocol import BookProgress, MediaFailed, MediaReady
from storyhub.sessions.registry import SessionRegistry

log = logging.getLogger("storyhub.sessions")

CHANNEL = "storyhub:sessions:inbox"
MediaKind = Literal["image", "audio", "video", "cover"]
BookStatus = Literal["queued", "building", "ready", "failed"]


class _Envelope(msgspec.Struct, frozen=True, rename="camel", tag_field="kind"):
    pass


class MediaEnvelope(_Envelope, frozen=True, tag="mediaReady"):
    story_id: UUID
    seq: int | None
    media: MediaKind
    url: str


class MediaFailedEnvelope(_Envelope, frozen=True, tag="mediaFailed"):
    story_id: UUID
    seq: int | None
    media: MediaKind
    code: str
    message: str
    task_id: str | None = None
    requested_by: str | None = None


class AiTextEnvelope(_Envelope, frozen=True, tag="aiText"):
    story_id: UUID
    text: str
    last_seq: int | None = None
    """The turn token: the story's last seq when the AI's turn began."""
    attempt: int = 0
    revise_seq: int | None = None
    provider: str = ""
    model: str = ""


class AiFailedEnvelope(_Envelope, frozen=True, tag="aiFailed"):
    story_id: UUID
    last_seq: int | None = None
    attempt: int = 0
    revise_seq: int | None = None


class BookEnvelope(_Envelope, frozen=True, tag="bookProgress"):
    story_id: UUID
    book_id: str
    format: str
    status: BookStatus
    requested_by: str | None = None
    error: str | None = None


class RevokeEnvelope(_Envelope, frozen=True, tag="revokeUser"):
    user_id: UUID


class CollaboratorEnvelope(_Envelope, frozen=True, tag="collaboratorChanged"):
    story_id: UUID
    user_id: UUID


Envelope = (
    MediaEnvelope
    | MediaFailedEnvelope
    | AiTextEnvelope
    | AiFailedEnvelope
    | BookEnvelope
    | RevokeEnvelope
    | CollaboratorEnvelope
)
_decoder = msgspec.json.Decoder(Envelope)


async def apply(envelope: Envelope, registry: SessionRegistry) -> None:
    """Carry out one envelope on this node."""
    match envelope:
        case MediaEnvelope():
            event = MediaReady(seq=envelope.seq, kind=envelope.media, url=envelope.url)
            registry.deliver_if_active(envelope.story_id, Broadcast(event))
        case MediaFailedEnvelope():
            failed = MediaFailed(
                seq=envelope.seq,
                kind=envelope.media,
                code=envelope.code,
                message=envelope.message,
                task_id=envelope.task_id,
                requested_by=envelope.requested_by,
            )
            registry.deliver_if_active(envelope.story_id, Broadcast(failed))
        case BookEnvelope():
            book = BookProgress(
                book_id=envelope.book_id,
                format=envelope.format,
                status=envelope.status,
                requested_by=envelope.requested_by,
                error=envelope.error,
            )
            registry.deliver_if_active(envelope.story_id, Broadcast(book))
        case AiTextEnvelope():
            ready = AiSegmentReady(
                text=envelope.text,
                turn_seq=envelope.last_seq,
                attempt=envelope.attempt,
                revise_seq=envelope.revise_seq,
                provider=envelope.provider,
                model=envelope.model,
            )
            registry.deliver_if_active(envelope.story_id, ready)
        case AiFailedEnvelope():
            failed = AiSegmentFailed(
                turn_seq=envelope.last_seq,
                attempt=envelope.attempt,
                revise_seq=envelope.revise_seq,
            )
            registry.deliver_if_active(envelope.story_id, failed)
        case RevokeEnvelope():
            await registry.revoke_user(envelope.user_id)
        case CollaboratorEnvelope():
            await registry.collaborator_changed(envelope.story_id, envelope.user_id)


class StoryNotifier(Protocol):
    """How background work reaches a story's live room."""

    async def media_ready(self, story_id: UUID, seq: int | None, kind: MediaKind, url: str) -> None:
        """Tell the room a segment's image, narration or video (or the cover) is ready."""

    async def media_failed(
        self,
        story_id: UUID,
        seq: int | None,
        kind: MediaKind,
        code: str,
        message: str,
        task_id: str | None = None,
        requested_by: str | None = None,
    ) -> None:
        """Tell the room (the requester is in it) a media request failed for good."""

    async def book_progress(
        self,
        story_id: UUID,
        book_id: str,
        format: str,
        status: BookStatus,
        requested_by: str | None = None,
        error: str | None = None,
    ) -> None:
        """Tell the room (the requester is a collaborator in it) a book changed state."""

    async def ai_text(
        self,
        story_id: UUID,
        text: str,
        *,
        last_seq: int | None = None,
        attempt: int = 0,
        revise_seq: int | None = None,
        provider: str = "",
        model: str = "",
    ) -> None:
        """Hand the AI seat's text for its turn (``last_seq``: the turn token) to the actor."""

    async def ai_failed(
        self,
        story_id: UUID,
        *,
        last_seq: int | None = None,
        attempt: int = 0,
        revise_seq: int | None = None,
    ) -> None:
        """Tell the actor the narrator task for that turn failed for good (the seat passes)."""

    async def revoke_user(self, user_id: UUID) -> None:
        """Close the user's sockets on every node (logout, password change)."""

    async def collaborator_changed(self, story_id: UUID, user_id: UUID) -> None:
        """Re-authorize the user's sockets on the story, on every node."""


class _EnvelopeNotifier(abc.ABC):
    """The typed notifier methods, once; subclasses only say how an envelope travels."""

    @abc.abstractmethod
    async def _send(self, envelope: Envelope) -> None:
        """Deliver ``envelope`` to the actors (directly or through every API node)."""

    async def media_ready(self, story_id: UUID, seq: int | None, kind: MediaKind, url: str) -> None:
        await self._send(MediaEnvelope(story_id=story_id, seq=seq, media=kind, url=url))

    async def media_failed(
        self,
        story_id: UUID,
        seq: int | None,
        kind: MediaKind,
        code: str,
        message: str,
        task_id: str | None = None,
        requested_by: str | None = None,
    ) -> None:
        await self._send(
            MediaFailedEnvelope(
                story_id=story_id,
                seq=seq,
                media=kind,
                code=code,
                message=message,
                task_id=task_id,
                requested_by=requested_by,
            )
        )

    async def book_progress(
        self,
        story_id: UUID,
        book_id: str,
        format: str,
        status: BookStatus,
        requested_by: str | None = None,
        error: str | None = None,
    ) -> None:
        await self._send(
            BookEnvelope(
                story_id=story_id,
                book_id=book_id,
                format=format,
                status=status,
                requested_by=requested_by,
                error=error,
            )
        )

    async def ai_text(
        self,
        story_id: UUID,
        text: str,
        *,
        last_seq: int | None = None,
        attempt: int = 0,
        revise_seq: int | None = None,
        provider: str = "",
        model: str = "",
    ) -> None:
        await self._send(
            AiTextEnvelope(
                story_id=story_id,
                text=text,
                last_seq=last_seq,
                attempt=attempt,
                revise_seq=revise_seq,
                provider=provider,
                model=model,
            )
        )

    async def ai_failed(
        self,
        story_id: UUID,
        *,
        last_seq: int | None = None,
        attempt: int = 0,
        revise_seq: int | None = None,
    ) -> None:
        await self._send(
            AiFailedEnvelope(
                story_id=story_id, last_seq=last_seq, attempt=attempt, revise_seq=revise_seq
            )
        )

    async def revoke_user(self, user_id: UUID) -> None:
        await self._send(RevokeEnvelope(user_id=user_id))

    async def collaborator_changed(self, story_id: UUID, user_id: UUID) -> None:
        await self._send(CollaboratorEnvelope(story_id=story_id, user_id=user_id))


class LocalNotifier(_EnvelopeNotifier):
    """Same process as the actors (embedded mode): apply the envelope directly."""

    def __init__(self, registry: SessionRegistry) -> None:
        self._registry = registry

    async def _send(self, envelope: Envelope) -> None:
        await apply(envelope, self._registry)


class ValkeyNotifier(_EnvelopeNotifier):
    """Any process in services mode (workers included): publish to every API node."""

    def __init__(self, client: Valkey) -> None:
        self._client = client

    async def _send(self, envelope: Envelope) -> None:
        await self._client.publish(CHANNEL, msgspec.json.encode(envelope))


def build_notifier(valkey: Valkey | None, registry: SessionRegistry) -> StoryNotifier:
    """The notifier for this deployment (Valkey when configured)."""
    return LocalNotifier(registry) if valkey is None else ValkeyNotifier(valkey)


class InboxListener:
    """An API node's subscription to :data:`CHANNEL`, owned by the app's lifespan."""

    def __init__(self, client: Valkey, registry: SessionRegistry) -> None:
        self._client = client
        self._registry = registry
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Subscribe; returns once the subscription is confirmed."""
        self._task = asyncio.create_task(self._run(), name="sessions-inbox")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()  # raise why it could not subscribe

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            self._ready.set()
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                if item is None or item.get("type") != "message":
                    continue
                await self.on_payload(item["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def on_payload(self, data: bytes) -> None:
        """Decode one envelope and carry it out; a bad one is logged, never fatal."""
        try:
            envelope = _decoder.decode(data)
        except msgspec.DecodeError:
            log.warning("ignoring a malformed sessions inbox message")
            return
        try:
            await apply(envelope, self._registry)
        except Exception:
            log.exception("sessions inbox message failed", extra={"kind": type(envelope).__name__})
