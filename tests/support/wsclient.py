"""A small WebSocket client for end-to-end tests; every receive has a timeout."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.support.server import ServerProcess

RECV_SECONDS = 5.0
Event = dict[str, Any]


class StoryClient:
    """One socket on one story, keeping every event it received in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Event] = []
        self._pending: list[Event] = []
        self._unpacked: list[Event] = []
        self.frames = 0
        self.batches = 0

    @classmethod
    async def open(
        cls,
        server: ServerProcess,
        story_id: uuid.UUID,
        token: str | None = None,
        *,
        ticket: str | None = None,
        origin: str | None = None,
        max_size: int | None = 2**20,
    ) -> StoryClient:
        url = f"{server.ws_url}/ws/stories/{story_id}"
        if ticket is not None:
            url += f"?ticket={ticket}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await asyncio.wait_for(
            connect(
                url,
                additional_headers=headers,
                origin=origin,  # type: ignore[arg-type]
                max_size=max_size,
                open_timeout=RECV_SECONDS,
                close_timeout=1,
                compression=None,
            ),
            RECV_SECONDS + 1,
        )
        return cls(ws)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def _receive(self, timeout: float) -> Event:
        if self._unpacked:
            return self._unpacked.pop(0)
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: Event = json.loads(raw)
        self.frames += 1
        # A batch (for clients that joined with batch: true) is its events, in order.
        events: list[Event] = frame["events"] if frame.get("type") == "batch" else [frame]
        if frame.get("type") == "batch":
            self.batches += 1
        self.seen.extend(events)
        self._unpacked.extend(events[1:])
        return events[0]

    async def recv(self, timeout: float = RECV_SECONDS) -> Event:
        """The oldest event not yet taken."""
        if self._pending:
            return self._pending.pop(0)
        return await self._receive(timeout)

    async def until(
        self, match: str | Callable[[Event], bool], timeout: float = RECV_SECONDS
    ) -> Event:
        """Take the oldest untaken event of type ``match`` (or satisfying it).

        Events passed over stay available to later calls (a selective receive).
        """
        predicate = (lambda e: e.get("type") == match) if isinstance(match, str) else match
        for index, event in enumerate(self._pending):
            if predicate(event):
                return self._pending.pop(index)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            event = await self._receive(max(0.01, end - loop.time()))
            if predicate(event):
                return event
            self._pending.append(event)

    async def answer(self, client_msg_id: str, timeout: float = RECV_SECONDS) -> Event:
        """The ack or error carrying ``client_msg_id``."""
        return await self.until(
            lambda e: e.get("type") in ("ack", "error") and e.get("clientMsgId") == client_msg_id,
            timeout,
        )

    async def command(self, message: dict[str, Any], timeout: float = RECV_SECONDS) -> Event:
        """Send a command with a fresh clientMsgId (unless given) and return its answer."""
        message = {"clientMsgId": uuid.uuid4().hex, **message}
        await self.send(message)
        return await self.answer(message["clientMsgId"], timeout)

    async def join(self, last_seq: int | None = None, *, batch: bool = False) -> Event:
        message: dict[str, Any] = {"type": "joinStory"}
        if batch:
            message["batch"] = True
        if last_seq is not None:
            message["lastSeq"] = last_seq
        return await self.command(message)

    async def close(self) -> None:
        await self.ws.close()

    def segments(self) -> list[int]:
        """Seqs of every storyUpdated seen, in arrival order."""
        return [e["segment"]["seq"] for e in self.seen if e.get("type") == "storyUpdated"]
