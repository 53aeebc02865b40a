"""uvicorn's wsproto WebSocket protocol with lighter per-connection state.

An open socket that sends nothing still keeps everything its protocol object
made up front. uvicorn's ``WSProtocol`` makes an ``asyncio.Queue`` for the
events the app receives (three deques, ~3.5 KB) and an ``asyncio.Event``
for write back-pressure (a deque, ~0.9 KB) — 4.4 KB of a socket's ~28 KB of
Python objects (docs/benchmarks.md, "Idle memory per connection"). The
replacements below keep just the operations uvicorn uses, and allocate a
waiter only while someone waits. Once the socket is open, wsproto's finished
HTTP/1.1 handshake (its h11 connection, the upgrade request, a deque: ~3 KB)
is dropped as well: wsproto then only ever asks it for pending events, and
there are none.

uvicorn also stops reading the socket after every message until the app has
taken it (two ``epoll_ctl`` calls and selector bookkeeping per message, ~5 %
of the server's CPU at 200 x 5 in docs/benchmarks.md); here reading stops
only when :data:`READ_AHEAD` messages wait, which bounds the same thing
(frames are at most ``ws_max_size``) with far fewer stops.

Otherwise behaviour is uvicorn's own: only these containers change.
``storyhub serve`` runs with ``ws=LeanWSProtocol``; ``sessions.wire`` still
recognises it as uvicorn's wsproto protocol (a subclass).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, Generic, TypeVar

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

T = TypeVar("T")

READ_AHEAD = 4
"""Messages a socket may have waiting for the app before reading it pauses."""


class LightQueue(Generic[T]):
    """What uvicorn uses of ``asyncio.Queue``: unbounded ``put_nowait``, ``get``, ``empty``."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._getters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        if self._getters:
            self._wake_next()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> T:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                # Pass the wake-up on if this getter was woken and then cancelled.
                self._getters.remove(getter)
                if getter.done() and not getter.cancelled() and self._items:
                    self._wake_next()
                raise
            self._getters.remove(getter)
            if not self._getters:
                self._getters = None
        return self._items.pop(0)

    def _wake_next(self) -> None:
        for getter in self._getters or ():
            if not getter.done():
                getter.set_result(None)
                return


class LightEvent:
    """What uvicorn uses of ``asyncio.Event``: ``set``, ``clear``, ``is_set``, ``wait``."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
        return True


class _FinishedHandshake:
    """Stands in for wsproto's ``H11Handshake`` once the connection is open.

    ``WSConnection`` consults its handshake only while ``connection`` is None,
    except in ``events()``, which drains the handshake's pending events first;
    uvicorn drains them after every read, so there are none left to lose.
    """

    __slots__ = ()

    def events(self) -> Iterator[Any]:
        return iter(())


FINISHED_HANDSHAKE = _FinishedHandshake()


class LeanWSProtocol(WSProtocol):
    """uvicorn's wsproto protocol with :class:`LightQueue`, :class:`LightEvent`, and
    no handshake state kept once the socket is open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = LightQueue()  # type: ignore[assignment]
        self.writable = LightEvent()  # type: ignore[assignment]
        self.writable.set()

    def handle_message(self, event: Any) -> None:
        paused = self.read_paused
        self.read_paused = True  # uvicorn pauses unless it already has
        try:
            super().handle_message(event)
        finally:
            self.read_paused = paused
        if not paused and self.queue.qsize() >= READ_AHEAD and not self.transport.is_closing():
            self.read_paused = True
            self.transport.pause_reading()

    def receive(self) -> Coroutine[Any, Any, Any]:  # type: ignore[override]
        # Not a coroutine itself: no extra frame kept while the socket waits.
        conn = self.conn
        if conn.connection is not None and conn.handshake is not FINISHED_HANDSHAKE:
            conn.handshake = FINISHED_HANDSHAKE  # type: ignore[assignment]
        return super().receive()
