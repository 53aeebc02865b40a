"""Per-socket outboxes and the local fan-out: slow sockets never slow the room."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from storyhub.sessions import connection
from storyhub.sessions import protocol as p
from storyhub.sessions.connection import CLOSE_SLOW_CONSUMER, Outbox
from storyhub.sessions.fanout import LocalFanout


class FakeSocket:
    def __init__(self, stall: bool = False) -> None:
        self.frames: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.gate = asyncio.Event()
        if not stall:
            self.gate.set()

    async def send(self, frame: str) -> None:
        await self.gate.wait()
        self.frames.append(frame)

    async def close(self, code: int, reason: str) -> None:
        await self.gate.wait()
        self.closed = (code, reason)


class TestOutbox:
    async def test_writer_exists_only_while_there_is_work(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(connection, "WRITER_LINGER_SECONDS", 0.05)
        sock = FakeSocket()
        outbox = Outbox(sock.send, sock.close)
        assert outbox._writer is None
        outbox.push("a")
        assert outbox._writer is not None
        await asyncio.sleep(0.2)
        assert outbox._writer is None  # idle again: no task held
        outbox.push("b")
        await asyncio.sleep(0.01)
        assert sock.frames == ["a", "b"]
        outbox.close(1000, "")
        await outbox.wait_closed()
        assert sock.closed == (1000, "")

    async def test_frames_are_written_in_order(self) -> None:
        sock = FakeSocket()
        outbox = Outbox(sock.send, sock.close, limit=10)
        for n in range(5):
            assert outbox.push(f"f{n}")
        await asyncio.sleep(0.01)
        outbox.close(1000, "")
        await outbox.wait_closed()
        assert sock.frames == [f"f{n}" for n in range(5)]
        assert sock.closed == (1000, "")

    async def test_close_drops_what_is_queued(self) -> None:
        sock = FakeSocket(stall=True)
        outbox = Outbox(sock.send, sock.close, limit=10)
        outbox.push("first")  # taken by the writer, stuck in send
        await asyncio.sleep(0)
        outbox.push("second")
        outbox.close(4401, "signedOut")
        assert not outbox.push("third")
        sock.gate.set()
        await outbox.wait_closed()
        assert sock.frames == ["first"]
        assert sock.closed == (4401, "signedOut")

    async def test_segment_already_delivered_is_not_sent_twice(self) -> None:
        sock = FakeSocket()
        outbox = Outbox(sock.send, sock.close)
        for seq in (1, 2, 2, 1, 3):
            outbox.push(f"s{seq}", seq=seq)
        assert len(outbox) == 3

    async def test_slow_socket_is_closed_and_the_room_keeps_going(self) -> None:
        fanout = LocalFanout()
        story = uuid.uuid4()
        slow_sock, fast_sock = FakeSocket(stall=True), FakeSocket()
        closed: list[str] = []
        slow = Outbox(slow_sock.send, slow_sock.close, limit=8)
        slow.on_close = lambda: closed.append("slow")
        fast = Outbox(fast_sock.send, fast_sock.close, limit=8)
        fanout.subscribe(story, slow)
        fanout.subscribe(story, fast)
        for n in range(50):
            fanout.publish(story, f"e{n}")
            await asyncio.sleep(0)  # the fast writer keeps up
        assert slow.close_code == CLOSE_SLOW_CONSUMER
        assert closed == ["slow"]
        assert fanout.subscriber_count(story) == 1
        assert fast_sock.frames == [f"e{n}" for n in range(50)]
        fast.close(1000, "")
        await fast.wait_closed()
        assert fast_sock.closed == (1000, "")

    async def test_replay_does_not_count_against_the_limit(self) -> None:
        sock = FakeSocket(stall=True)
        outbox = Outbox(sock.send, sock.close, limit=4)
        for seq in range(1, 101):
            assert outbox.push(f"r{seq}", seq=seq, bounded=False)
        assert outbox.push("live")
        assert outbox.close_code is None


class TestBatching:
    async def test_a_socket_that_falls_behind_gets_batches_in_order(self) -> None:
        sock = FakeSocket(stall=True)
        outbox = Outbox(sock.send, sock.close, limit=500)
        outbox.batching = True
        events = [p.encode_event(p.Ack(client_msg_id=f"m{n}", seq=n)) for n in range(1, 101)]
        outbox.push(events[0])
        await asyncio.sleep(0)  # the writer takes the first and stalls on it
        for frame in events[1:]:
            outbox.push(frame)
        sock.gate.set()
        await asyncio.sleep(0.05)
        assert sock.frames[0] == events[0]
        batches = [p.event_decoder.decode(f) for f in sock.frames[1:]]
        assert all(isinstance(b, p.Batch) for b in batches)
        seqs = [e.seq for b in batches for e in b.events]
        assert seqs == list(range(2, 101))
        assert all(len(b.events) <= connection.BATCH_MAX_EVENTS for b in batches)
        assert len(outbox) == 0

    async def test_without_opt_in_every_event_is_its_own_frame(self) -> None:
        sock = FakeSocket(stall=True)
        outbox = Outbox(sock.send, sock.close, limit=500)
        outbox.push("a")
        await asyncio.sleep(0)
        for frame in ("b", "c", "d"):
            outbox.push(frame)
        sock.gate.set()
        await asyncio.sleep(0.05)
        assert sock.frames == ["a", "b", "c", "d"]
