"""A socket that stops reading is dropped and never slows the room."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import ServerProcess
from tests.support.stories import create_story
from tests.support.users import create_user
from tests.support.wsclient import StoryClient


async def _tiny_window_client(server: ServerProcess, story: object, token: str) -> StoryClient:
    """A client whose kernel receive buffer is small, so the server feels it stall soon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    ws = await asyncio.wait_for(
        connect(
            f"{server.ws_url}/ws/stories/{story}",
            sock=sock,
            additional_headers={"Authorization": f"Bearer {token}"},
            max_queue=1,
            compression=None,
            ping_interval=None,
        ),
        5,
    )
    return StoryClient(ws)


@pytest.mark.parametrize("server", ["embedded"], indirect=True)
async def test_stalled_socket_is_dropped_and_the_room_keeps_going(
    server: ServerProcess,
) -> None:
    alice = create_user(server)
    sleepy = create_user(server)
    story = create_story(server, alice, [(sleepy, "viewer")], settings={"maxSegmentLength": 16_000})
    fast = await StoryClient.open(server, story, alice.token)
    slow = await _tiny_window_client(server, story, sleepy.token)
    await fast.join()
    await slow.join()
    slow.ws.transport.pause_reading()  # stop reading entirely
    # Large but under the safety filter's 8,000-character cap, and innocent.
    big = ("The quiet fox ran over the hill and into the wood. " * 150).strip()
    dropped = False
    count = 0
    worst = 0.0
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        while not dropped:
            count += 1
            assert count <= 1500, "the stalled socket was never dropped"
            sent = time.monotonic()
            answer = await http.post(
                f"/stories/{story}/turns",
                json={"clientMsgId": f"big-{count}", "text": big},
                headers=alice.headers,
            )
            assert answer.status_code == 201, answer.text
            # The room (here: Alice) gets every segment while Sleepy is stuck.
            update = await fast.until("storyUpdated")
            worst = max(worst, time.monotonic() - sent)
            assert update["segment"]["seq"] == count
            dropped = any(
                e["type"] == "userLeft" and e["userId"] == str(sleepy.id) for e in fast.seen
            )
    assert worst < 2.0, f"a stalled socket slowed the room: {worst:.2f}s"
    slow.ws.transport.resume_reading()

    async def read_to_the_end() -> None:
        while True:
            await asyncio.wait_for(slow.ws.recv(), 10)

    with pytest.raises(ConnectionClosed):
        await read_to_the_end()
    await fast.close()
