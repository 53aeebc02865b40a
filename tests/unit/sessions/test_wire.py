"""Pre-built frames written straight to a transport: same bytes, same order, same limits."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import wsproto
import wsproto.events
from hypothesis import given
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType

from storyhub.sessions.connection import CLOSE_SLOW_CONSUMER, Outbox
from storyhub.sessions.fanout import LocalFanout
from storyhub.sessions.wire import find_sink, text_frame


class FakeSink:
    """A transport that can be told it is full (as uvicorn's ``writable`` is cleared)."""

    def __init__(self) -> None:
        self.wire: list[bytes] = []
        self.open = True

    def ready(self) -> bool:
        return self.open

    def write(self, frame: bytes) -> None:
        self.wire.append(frame)


class AsgiSide:
    """The ordinary path: text frames through the (slow, awaited) ASGI send."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, frame: str) -> None:
        await self.gate.wait()
        self.frames.append(frame)

    async def close(self, code: int, reason: str) -> None:
        pass


def decode(frames: list[bytes]) -> list[str]:
    """What a real WebSocket client reads from these bytes."""
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(b"".join(frames))
    return [event.data for event in client.events() if isinstance(event, wsproto.events.Message)]


class TestTextFrame:
    @given(st.text(max_size=70_000))
    def test_a_client_reads_back_the_text(self, text: str) -> None:
        assert decode([text_frame(text.encode())]) == [text]

    @pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536])
    def test_every_length_encoding(self, size: int) -> None:
        assert decode([text_frame(b"x" * size)]) == ["x" * size]


class TestOutboxDirectPath:
    async def test_an_idle_socket_gets_the_frame_at_once_without_a_writer(self) -> None:
        sink, asgi = FakeSink(), AsgiSide()
        outbox = Outbox(asgi.send, asgi.close, sink=sink)
        assert outbox.push("a", wire=text_frame(b"a"))
        assert decode(sink.wire) == ["a"]
        assert outbox._writer is None
        assert asgi.frames == []

    async def test_order_holds_when_the_transport_fills_and_drains(self) -> None:
        sink, asgi = FakeSink(), AsgiSide()
        outbox = Outbox(asgi.send, asgi.close, sink=sink)
        outbox.push("1", wire=text_frame(b"1"))
        sink.open = False  # full: frames queue behind the writer
        asgi.gate.clear()
        outbox.push("2", wire=text_frame(b"2"))
        sink.open = True
        # Still something pending: the direct path must wait its turn.
        outbox.push("3", wire=text_frame(b"3"))
        assert decode(sink.wire) == ["1"]
        asgi.gate.set()
        await asyncio.sleep(0.01)
        assert asgi.frames == ["2", "3"]
        outbox.push("4", wire=text_frame(b"4"))  # drained: direct again
        assert decode(sink.wire) == ["1", "4"]

    async def test_a_full_transport_still_ends_in_a_slow_consumer_close(self) -> None:
        sink, asgi = FakeSink(), AsgiSide()
        sink.open = False
        asgi.gate.clear()
        outbox = Outbox(asgi.send, asgi.close, limit=3, sink=sink)
        results = [outbox.push(str(n), wire=text_frame(b"n")) for n in range(5)]
        assert results[-1] is False
        assert outbox.close_code == CLOSE_SLOW_CONSUMER
        assert sink.wire == []

    async def test_a_closing_socket_gets_nothing(self) -> None:
        sink, asgi = FakeSink(), AsgiSide()
        outbox = Outbox(asgi.send, asgi.close, sink=sink)
        outbox.close(1000, "")
        assert outbox.push("a", wire=text_frame(b"a")) is False
        assert sink.wire == []

    async def test_a_segment_already_sent_is_not_written_again(self) -> None:
        sink, asgi = FakeSink(), AsgiSide()
        outbox = Outbox(asgi.send, asgi.close, sink=sink)
        outbox.push("s1", seq=1, wire=text_frame(b"s1"))
        outbox.push("s1", seq=1, wire=text_frame(b"s1"))
        assert decode(sink.wire) == ["s1"]


class TestFanout:
    async def test_one_frame_for_the_room_mixed_sockets_read_the_same_text(self) -> None:
        fanout, story = LocalFanout(), uuid.uuid4()
        direct, plain = FakeSink(), AsgiSide()
        fanout.subscribe(story, Outbox(plain.send, plain.close, sink=direct))
        legacy = AsgiSide()
        fanout.subscribe(story, Outbox(legacy.send, legacy.close))
        fanout.publish(story, '{"type":"x"}')
        await asyncio.sleep(0.01)
        assert decode(direct.wire) == ['{"type":"x"}'] == legacy.frames


class TestFindSink:
    def test_only_uvicorns_wsproto_protocol_with_deflate_off_is_recognised(self) -> None:
        async def send(message: object) -> None:
            pass

        assert find_sink(send) is None
        assert find_sink(wsproto.WSConnection(ConnectionType.SERVER).send) is None  # type: ignore[arg-type]

    @pytest.mark.parametrize("deflate", [False, True])
    async def test_uvicorn_wsproto_is_recognised_only_without_deflate(self, deflate: bool) -> None:
        from uvicorn.config import Config
        from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
        from uvicorn.server import ServerState

        async def app(scope: object, receive: object, send: object) -> None:
            pass

        config = Config(app=app, ws="wsproto", ws_per_message_deflate=deflate)
        config.load()
        protocol = WSProtocol(config=config, server_state=ServerState(), app_state={})
        sink = find_sink(protocol.send)
        assert (sink is None) is deflate
