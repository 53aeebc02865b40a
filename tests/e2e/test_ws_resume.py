"""Resume, idempotent retries, deadlines and the AI seat over real WebSockets."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.server import ServerProcess
from tests.support.stories import create_story, segments
from tests.support.users import create_user
from tests.support.wsclient import StoryClient


class TestResume:
    """A client that reconnects with joinStory {lastSeq} misses nothing and sees nothing twice."""

    async def test_resume_after_dropped_socket_has_no_gap_and_no_duplicate(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        bob = create_user(server)
        story = create_story(server, alice, [(bob, "viewer")], settings={"turnSeconds": 60})
        a = await StoryClient.open(server, story, alice.token)
        b = await StoryClient.open(server, story, bob.token)
        try:
            await a.join()
            await b.join()
            for n in range(1, 4):
                assert (await a.command({"type": "submitTurn", "text": f"t{n}"}))["seq"] == n
            for n in range(1, 4):
                assert (await b.until("storyUpdated"))["segment"]["seq"] == n
            # Drop Bob's socket without a goodbye, then keep writing.
            b.ws.transport.abort()
            for n in range(4, 7):
                assert (await a.command({"type": "submitTurn", "text": f"t{n}"}))["seq"] == n

            b2 = await StoryClient.open(server, story, bob.token)

            # Alice keeps writing while Bob rejoins: replay and live events meet.
            async def keep_writing() -> list[dict]:
                return [
                    await a.command({"type": "submitTurn", "text": f"t{n}"}) for n in range(7, 10)
                ]

            writer = asyncio.create_task(keep_writing())
            await b2.join(last_seq=3)
            acks = await asyncio.wait_for(writer, 10)
            assert sorted(x["seq"] for x in acks) == [7, 8, 9]
            received = [(await b2.until("storyUpdated"))["segment"]["seq"] for _ in range(4, 10)]
            assert received == [4, 5, 6, 7, 8, 9]
            await b2.send({"type": "ping"})
            await b2.until("pong")
            assert b2.segments() == [4, 5, 6, 7, 8, 9]
            await b2.close()
        finally:
            await a.close()

    async def test_join_without_last_seq_replays_everything_in_order(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        a = await StoryClient.open(server, story, alice.token)
        for n in range(1, 5):
            await a.join() if n == 1 else None
            await a.command({"type": "submitTurn", "text": f"t{n}"})
        await a.close()
        again = await StoryClient.open(server, story, alice.token)
        try:
            ack = await again.join()
            assert ack["seq"] == 4
            replayed = [await again.until("storyUpdated") for _ in range(4)]
            assert [e["segment"]["seq"] for e in replayed] == [1, 2, 3, 4]
            assert all(e["replay"] is True for e in replayed)
        finally:
            await again.close()


class TestIdempotency:
    """A retried command returns its first result and creates nothing."""

    async def test_retry_with_same_client_id_returns_original_segment(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        a = await StoryClient.open(server, story, alice.token)
        try:
            await a.join()
            first = await a.command({"type": "submitTurn", "clientMsgId": "m-1", "text": "Hello"})
            again = await a.command({"type": "submitTurn", "clientMsgId": "m-1", "text": "Hello"})
            assert first["seq"] == again["seq"] == 1
            reused = await a.command({"type": "submitTurn", "clientMsgId": "m-1", "text": "Bye"})
            assert reused["type"] == "error"
            assert reused["code"] == "clientMsgIdReused"
            second = await a.command({"type": "submitTurn", "clientMsgId": "m-2", "text": "Next"})
            assert second["seq"] == 2

            # The REST door goes through the same actor and the same idempotency.
            async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
                retried = await http.post(
                    f"/stories/{story}/turns",
                    json={"clientMsgId": "m-2", "text": "Next"},
                    headers=alice.headers,
                )
                assert retried.status_code == 201
                assert retried.json()["seq"] == 2
                fresh = await http.post(
                    f"/stories/{story}/turns",
                    json={"clientMsgId": "m-3", "text": "Over HTTP"},
                    headers=alice.headers,
                )
                assert fresh.status_code == 201
                assert fresh.json()["seq"] == 3
                clash = await http.post(
                    f"/stories/{story}/turns",
                    json={"clientMsgId": "m-3", "text": "Different"},
                    headers=alice.headers,
                )
                assert clash.status_code == 409
                assert clash.json()["code"] == "clientMsgIdReused"
            live = await a.until(lambda e: e["type"] == "storyUpdated" and e["segment"]["seq"] == 3)
            assert live["segment"]["content"] == "Over HTTP"
            chat1 = await a.command({"type": "sendChatMessage", "clientMsgId": "c-1", "text": "hi"})
            chat2 = await a.command({"type": "sendChatMessage", "clientMsgId": "c-1", "text": "hi"})
            assert chat1["messageId"] == chat2["messageId"]
        finally:
            await a.close()
        assert [s[:2] for s in segments(server, story)] == [
            (1, "Hello"),
            (2, "Next"),
            (3, "Over HTTP"),
        ]


class TestTurnOrder:
    """Deadlines skip silent or absent authors; the AI seat passes for now."""

    async def test_deadline_skips_a_silent_then_an_absent_author(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        bob = create_user(server)
        story = create_story(server, alice, [(bob, "author")], settings={"turnSeconds": 1})
        a = await StoryClient.open(server, story, alice.token)
        b = await StoryClient.open(server, story, bob.token)
        try:
            await a.join()
            await b.join()
            skipped = await a.until(
                lambda e: e["type"] == "newTurn" and e["reason"] == "skipped", timeout=4
            )
            assert skipped["userId"] == str(bob.id)
            assert skipped["previousUserId"] == str(alice.id)
            await b.close()
            back = await a.until(
                lambda e: e["type"] == "newTurn" and e["previousUserId"] == str(bob.id), timeout=4
            )
            assert back["reason"] == "skipped"
            assert back["userId"] == str(alice.id)
        finally:
            await a.close()

    async def test_ai_seat_takes_its_turn_and_gives_it_back(self, server: ServerProcess) -> None:
        """Embedded: the offline narrator writes in-process. Services: no worker runs for
        this server, so the seat's deadline skips it (tests/e2e/test_ai_narrator.py runs
        the narrator with a worker)."""
        alice = create_user(server)
        story = create_story(server, alice, settings={"aiNarrator": True, "turnSeconds": 3})
        a = await StoryClient.open(server, story, alice.token)
        embedded = "STORYHUB_VALKEY_URL" not in server.env
        try:
            await a.join()
            await a.command({"type": "submitTurn", "text": "Once."})
            ai_turn = await a.until(lambda e: e["type"] == "newTurn" and e.get("aiSeat"))
            assert ai_turn["userId"] is None
            back = await a.until(
                lambda e: (
                    e["type"] == "newTurn"
                    and e["previousUserId"] is None
                    and e["reason"] != "started"
                ),
                timeout=10,
            )
            assert back["userId"] == str(alice.id)
            assert back["reason"] == ("submitted" if embedded else "skipped")
            written = [e for e in a.seen if e["type"] == "storyUpdated"]
            assert [e["segment"]["authorId"] is None for e in written] == (
                [False, True] if embedded else [False]
            )
        finally:
            await a.close()


class TestBatches:
    """A client that opts in may get several events per frame, never out of order."""

    async def test_opted_in_client_gets_the_same_events_in_fewer_frames(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        bob = create_user(server)
        story = create_story(server, alice, [(bob, "viewer")])
        a = await StoryClient.open(server, story, alice.token)
        b = await StoryClient.open(server, story, bob.token)
        try:
            await a.join(batch=True)
            await b.join()
            for n in range(1, 11):
                ack = await a.command({"type": "submitTurn", "text": f"t{n}"})
                assert ack["seq"] == n
            for client in (a, b):
                seqs = [(await client.until("storyUpdated"))["segment"]["seq"] for _ in range(10)]
                assert seqs == list(range(1, 11))
            # Each turn's ack, segment and next turn leave the actor in one step.
            assert a.batches > 0
            assert a.frames < len(a.seen)
            assert b.batches == 0
            assert b.frames == len(b.seen)
        finally:
            await a.close()
            await b.close()
