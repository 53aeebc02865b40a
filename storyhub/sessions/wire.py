"""Writing one pre-built WebSocket frame straight to a socket's transport.

A room's event is the same bytes for every socket: a server frame is not
masked, and with permessage-deflate off no per-connection state changes it.
Going through ASGI would re-frame it for each socket (wsproto) and cost a
coroutine and a writer-task wake-up per socket; here the fan-out builds the
frame once (:func:`text_frame`) and a :class:`DirectSink` hands it to the
transport. Measured with ``scripts/bench_ws.py`` (docs/benchmarks.md).

This reaches into uvicorn's wsproto protocol (``transport``, ``writable``,
``close_sent``), so it is used only when :func:`find_sink` recognises exactly
that server's protocol (or a subclass, such as ``sessions.uvicorn_protocol``'s) with
deflate off; anything else (other servers, the test client)
falls back to the ASGI path, which stays correct on its own.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

from litestar.types import ASGIApp, Receive, Scope, Send

SCOPE_KEY = "storyhub.wire"
_WSPROTO_PROTOCOL = ("uvicorn.protocols.websockets.wsproto_impl", "WSProtocol")


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 §5.2) carrying ``payload``."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Sink(Protocol):
    def ready(self) -> bool:
        """True when a frame written now goes out in order and unmodified."""

    def write(self, frame: bytes) -> None:
        """Write a frame from :func:`text_frame`; only after ``ready()``."""


class DirectSink:
    """The transport of one uvicorn wsproto connection."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    def ready(self) -> bool:
        protocol = self._protocol
        # writable is cleared while the transport is above its high-water mark:
        # then frames queue in the outbox, whose limit closes a slow consumer.
        return (
            protocol.handshake_complete
            and not protocol.close_sent
            and protocol.writable.is_set()
            and not self._transport.is_closing()
        )

    def write(self, frame: bytes) -> None:
        self._transport.write(frame)


def find_sink(send: Send) -> DirectSink | None:
    """A sink for the connection behind the server's own ``send``, if it is one we know."""
    protocol = getattr(send, "__self__", None)
    # That class or a subclass (storyhub serve runs sessions.uvicorn_protocol's).
    if not any((k.__module__, k.__qualname__) == _WSPROTO_PROTOCOL for k in type(protocol).__mro__):
        return None
    config = getattr(protocol, "config", None)
    if config is None or getattr(config, "ws_per_message_deflate", True):
        return None  # a negotiated extension would change the bytes per connection
    return DirectSink(protocol)


def direct_writes(app: ASGIApp) -> ASGIApp:
    """Wrap the whole app (outside Litestar) so a socket's handler can find its sink."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            sink = find_sink(send)
            if sink is not None:
                scope[SCOPE_KEY] = sink  # type: ignore[literal-required]
        await app(scope, receive, send)

    return wrapped
