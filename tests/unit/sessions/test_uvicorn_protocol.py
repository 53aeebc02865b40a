"""The lighter uvicorn WebSocket protocol: same behaviour, less state per idle socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.asyncio.client import connect

from storyhub.sessions.uvicorn_protocol import (
    FINISHED_HANDSHAKE,
    READ_AHEAD,
    LeanWSProtocol,
    LightEvent,
    LightQueue,
)
from storyhub.sessions.wire import find_sink


class TestLightQueue:
    async def test_items_come_out_in_order_and_a_getter_waits_for_the_next(self) -> None:
        queue: LightQueue[int] = LightQueue()
        queue.put_nowait(1)
        queue.put_nowait(2)
        assert (queue.qsize(), await queue.get(), await queue.get()) == (2, 1, 2)
        assert queue.empty()
        getter = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        assert not getter.done()
        queue.put_nowait(3)
        assert await asyncio.wait_for(getter, 1) == 3
        assert queue.empty()
        assert queue._getters is None

    async def test_a_cancelled_getter_loses_nothing(self) -> None:
        queue: LightQueue[str] = LightQueue()
        getter = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        getter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await getter
        queue.put_nowait("kept")
        assert await asyncio.wait_for(queue.get(), 1) == "kept"

    async def test_a_woken_getter_cancelled_before_it_runs_passes_the_item_on(self) -> None:
        queue: LightQueue[str] = LightQueue()
        first = asyncio.ensure_future(queue.get())
        second = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        queue.put_nowait("only")  # wakes ``first``...
        first.cancel()  # ...which is cancelled before it can take the item
        assert await asyncio.wait_for(second, 1) == "only"
        assert first.cancelled()


class TestLightEvent:
    async def test_wait_returns_once_set_and_clear_makes_it_wait_again(self) -> None:
        event = LightEvent()
        waiter = asyncio.ensure_future(event.wait())
        await asyncio.sleep(0)
        assert not waiter.done()
        assert not event.is_set()
        event.set()
        assert await asyncio.wait_for(waiter, 1) is True
        assert await event.wait() is True
        event.clear()
        again = asyncio.ensure_future(event.wait())
        await asyncio.sleep(0)
        assert not again.done()
        again.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await again
        assert event._waiters is None


@contextlib.asynccontextmanager
async def lean_server(app: Any) -> AsyncIterator[tuple[str, list[LeanWSProtocol]]]:
    """A real loopback listener speaking through :class:`LeanWSProtocol`."""
    config = Config(app=app, ws=LeanWSProtocol, ws_per_message_deflate=False, log_config=None)
    config.load()
    state = ServerState()
    made: list[LeanWSProtocol] = []

    def factory() -> LeanWSProtocol:
        protocol = LeanWSProtocol(config=config, server_state=state, app_state={})
        made.append(protocol)
        return protocol

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/", made
    finally:
        server.close()
        for protocol in made:
            protocol.transport.close()
        await server.wait_closed()


class TestLeanWSProtocol:
    async def test_echoes_and_closes_like_uvicorns_and_forgets_the_handshake(self) -> None:
        seen: list[Any] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                seen.append(message)
                if message["type"] == "websocket.disconnect":
                    return
                await send({"type": "websocket.send", "text": message["text"].upper()})

        async with lean_server(app) as (url, made):
            async with connect(url) as ws:
                await ws.send("hello")
                assert await asyncio.wait_for(ws.recv(), 5) == "HELLO"
                (protocol,) = made
                assert protocol.conn.handshake is FINISHED_HANDSHAKE
                assert find_sink(protocol.send) is not None
                for text in ("a", "b", "c"):
                    await ws.send(text)
                assert [await asyncio.wait_for(ws.recv(), 5) for _ in "abc"] == ["A", "B", "C"]
            for _ in range(100):
                if seen and seen[-1]["type"] == "websocket.disconnect":
                    break
                await asyncio.sleep(0.02)
        assert [m.get("text") for m in seen[:-1]] == ["hello", "a", "b", "c"]
        assert seen[-1] == {"type": "websocket.disconnect", "code": 1000, "reason": ""}

    async def test_reading_pauses_only_once_read_ahead_messages_wait(self) -> None:
        release = asyncio.Event()
        seen: list[str] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            await release.wait()
            while len(seen) < 12:
                seen.append((await receive())["text"])
            await send({"type": "websocket.send", "text": "done"})

        async def settle(protocol: LeanWSProtocol, size: int) -> None:
            for _ in range(250):
                if protocol.queue.qsize() >= size:
                    return
                await asyncio.sleep(0.02)

        async with lean_server(app) as (url, made), connect(url) as ws:
            (protocol,) = made
            for n in range(READ_AHEAD - 1):
                await ws.send(f"m{n}")
            await settle(protocol, READ_AHEAD - 1)
            assert protocol.queue.qsize() == READ_AHEAD - 1
            assert not protocol.read_paused  # uvicorn's own would have paused at one
            for n in range(READ_AHEAD - 1, 12):
                await ws.send(f"m{n}")
            await settle(protocol, READ_AHEAD)
            assert protocol.read_paused
            release.set()
            assert await asyncio.wait_for(ws.recv(), 5) == "done"
            assert not protocol.read_paused
        assert seen == [f"m{n}" for n in range(12)]

    async def test_a_refused_upgrade_still_gets_its_http_response(self) -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": 403,
                    "headers": [(b"content-length", b"2")],
                }
            )
            await send({"type": "websocket.http.response.body", "body": b"no"})

        async with lean_server(app) as (url, _):
            with pytest.raises(Exception, match="403"):
                async with connect(url):
                    pass
