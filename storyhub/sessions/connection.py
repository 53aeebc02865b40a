"""One accepted WebSocket as the session sees it: who it is and its outbound queue.

Events reach a socket only through its :class:`Outbox`: a bounded queue of
pre-encoded frames drained by one writer task (started on demand). Pushing never blocks, so a slow
socket can never slow the actor or the room. **Overflow policy: close the slow
consumer** — when a socket has :attr:`Outbox.limit` frames waiting, the queue
is dropped and the socket is closed with code 4008; the client reconnects and
resumes with ``joinStory {lastSeq}``, losing nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from uuid import UUID

from storyhub.accounts.principal import Principal
from storyhub.sessions.protocol import BATCH_PREFIX, Event, encode_event
from storyhub.sessions.wire import Sink, text_frame

log = logging.getLogger("storyhub.sessions")

CLOSE_SLOW_CONSUMER = 4008
CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SERVICE_RESTART = 1012
CLOSE_TIMEOUT_SECONDS = 2.0
WRITER_LINGER_SECONDS = 5.0
BATCH_MAX_EVENTS = 64
BATCH_MAX_CHARS = 48 * 1024
"""A batch stops growing past this (events are whole, so a frame may exceed it a little)."""


class Outbox:
    """A socket's bounded queue of encoded frames and the writer that drains it.

    The writer task exists only while there is something to write (it lingers
    :data:`WRITER_LINGER_SECONDS` for more, then ends): a task per idle socket
    measured ~4.5 KB of a ~27 KB connection. The queue is a list and the wait a
    future made only while waiting, for the same reason.
    """

    __slots__ = (
        "_close",
        "_grace",
        "_pending",
        "_queue",
        "_send",
        "_sending",
        "_sink",
        "_waiter",
        "_writer",
        "batching",
        "close_code",
        "close_reason",
        "last_seq",
        "limit",
        "on_close",
    )

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        limit: int = 256,
        sink: Sink | None = None,
    ) -> None:
        self._send = send
        self._close = close
        self._sink = sink
        """Where a room's pre-built frame can be written at once (see ``wire``)."""
        self._queue: list[str] = []
        self._pending = 0
        """Frames queued or taken by the writer and not yet written."""
        self._grace = 0
        """Pending replay frames, which do not count against ``limit``."""
        self._sending = False
        self._waiter: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.limit = limit
        self.close_code: int | None = None
        self.close_reason = ""
        self.last_seq = -1
        """Highest segment seq pushed: a segment at or below it is never sent twice."""
        self.on_close: Callable[[], None] | None = None
        """Called once when the server decides to close the socket (stops its reader)."""
        self.batching = False
        """The client accepts ``batch`` frames (it said so in ``joinStory``)."""

    @property
    def closing(self) -> bool:
        return self.close_code is not None

    def __len__(self) -> int:
        return self._pending

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        elif self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    def push(
        self,
        frame: str,
        *,
        seq: int | None = None,
        bounded: bool = True,
        wire: bytes | None = None,
    ) -> bool:
        """Queue ``frame``; False if the socket is closing or was just closed as too slow.

        ``seq`` marks a segment frame: one already delivered is skipped, which
        keeps a resume free of duplicates whatever order replay and live events
        meet in. ``bounded=False`` is for a join's replay, sized by the story.
        ``wire`` is ``frame`` as a WebSocket frame: with nothing pending and
        the transport keeping up, it is written at once instead of queued.
        """
        if self.close_code is not None:
            return False
        if seq is not None:
            if seq <= self.last_seq:
                return True
            self.last_seq = seq
        sink = self._sink
        if wire is not None and sink is not None and self._pending == 0 and sink.ready():
            # Nothing queued or in flight, so order holds; no writer wakes up.
            sink.write(wire)
            return True
        if not bounded:
            self._grace += 1
        elif self._pending - self._grace >= self.limit:
            self.close(CLOSE_SLOW_CONSUMER, "slowConsumer")
            return False
        self._queue.append(frame)
        self._pending += 1
        self._wake()
        return True

    def push_event(self, event: Event) -> bool:
        """Encode and queue (or write at once) an event meant for this socket alone."""
        frame = encode_event(event)
        # A batching client's reply is queued, so the events that follow it in
        # the same actor step can share its frame.
        direct = self._sink is not None and not self.batching
        return self.push(frame, wire=text_frame(frame.encode()) if direct else None)

    def close(self, code: int, reason: str) -> None:
        """Drop what is queued and close the socket with ``code`` (idempotent)."""
        if self.close_code is not None:
            return
        self.close_code = code
        self.close_reason = reason
        self._queue = []
        self._pending = self._grace = 0
        if code == CLOSE_SLOW_CONSUMER and self._sending and self._writer is not None:
            # The writer is parked on a full transport; the close frame could only
            # queue behind it. Stop writing: the socket is dropped when its handler
            # returns, and the peer sees the close once it reads again (or 1006).
            self._writer.cancel()
        else:
            self._wake()  # the writer (started if need be) sends the close frame
        if self.on_close is not None:
            self.on_close()

    async def wait_closed(self) -> None:
        """Wait (a bounded time) for the close frame to be written."""
        writer = self._writer
        if writer is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(writer), CLOSE_TIMEOUT_SECONDS + 1)
        except (TimeoutError, asyncio.CancelledError):
            writer.cancel()

    async def _linger(self) -> bool:
        """Wait for more frames; False when none came in time (the writer then ends)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(WRITER_LINGER_SECONDS, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return bool(self._queue) or self.close_code is not None

    async def _drain(self) -> None:
        """Write queued frames; end when idle, or after the close frame."""
        try:
            while self.close_code is None:
                if not self._queue:
                    if await self._linger():
                        continue
                    # Nothing since: end. No await between this check and the
                    # reset below, so a push cannot be missed.
                    self._writer = None
                    return
                batch, self._queue = self._queue, []
                for frame, count in _frames(batch, self.batching):
                    if self.close_code is not None:
                        break  # closing drops what is still queued
                    self._sending = True
                    await self._send(frame)
                    self._sending = False
                    self._pending -= count
                    self._grace = max(0, self._grace - count)
        except asyncio.CancelledError:
            if self.close_code != CLOSE_SLOW_CONSUMER:
                raise
            return
        except Exception:  # the peer went away mid-write; the reader sees it too
            if self.close_code is None:
                self.close_code = 1006
            return
        # Best effort: a stalled peer may never let the close frame out, and the
        # transport closes anyway when the handler returns.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._close(self.close_code, self.close_reason), CLOSE_TIMEOUT_SECONDS
            )


def _frames(queued: list[str], batching: bool) -> Iterator[tuple[str, int]]:
    """What to write for ``queued`` frames: each alone, or (when the client opted
    in and several wait) joined into ``batch`` frames of bounded size."""
    if not batching or len(queued) == 1:
        for frame in queued:
            yield frame, 1
        return
    start = 0
    while start < len(queued):
        end, size = start, 0
        while end < len(queued) and end - start < BATCH_MAX_EVENTS and size < BATCH_MAX_CHARS:
            size += len(queued[end])
            end += 1
        if end - start == 1:
            yield queued[start], 1
        else:
            yield BATCH_PREFIX + ",".join(queued[start:end]) + "]}", end - start
        start = end


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass(eq=False, slots=True)
class Connection:
    """One accepted socket on one story."""

    story_id: UUID
    principal: Principal
    role: str
    """Effective role on the story (``owner``/``author``/``editor``/``viewer``); updated
    when the collaborator changes."""
    outbox: Outbox
    joined: bool = False

    @property
    def user_id(self) -> UUID:
        return self.principal.id

    @property
    def closed(self) -> bool:
        return self.outbox.closing

    def close(self, code: int, reason: str) -> None:
        """Close from the server side: nothing more is served on this socket."""
        if self.outbox.closing:
            return
        log.info(
            "closing socket",
            extra={"storyId": str(self.story_id), "userId": str(self.user_id), "code": code},
        )
        self.outbox.close(code, reason)
