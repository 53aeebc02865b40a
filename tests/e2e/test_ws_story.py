"""A whole story over real WebSockets against a real server, in both modes."""

from __future__ import annotations

import uuid

import httpx

from tests.support.server import ServerProcess
from tests.support.stories import create_story, segments, story_status
from tests.support.users import create_user
from tests.support.wsclient import StoryClient


def _turn_for(user_id: uuid.UUID):
    return lambda e: e.get("type") == "newTurn" and e.get("userId") == str(user_id)


class TestFullStory:
    """Three authors write a story in turn, chat, and vote it to its end."""

    async def test_three_authors_take_turns_chat_and_vote_to_end(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server, display_name="Alice")
        bob = create_user(server, display_name="Bob")
        carol = create_user(server, display_name="Carol")
        story = create_story(
            server, alice, [(bob, "author"), (carol, "editor")], settings={"turnSeconds": 30}
        )
        a = await StoryClient.open(server, story, alice.token)
        b = await StoryClient.open(server, story, bob.token)
        c = await StoryClient.open(server, story, carol.token)
        try:
            # Join one at a time so the turn order is Alice, Bob, Carol.
            for client in (a, b, c):
                assert (await client.join())["type"] == "ack"
            await a.until(_turn_for(alice.id))
            presence = await c.until("presence")  # the full list goes to the joiner
            assert {u["displayName"] for u in presence["users"]} == {"Alice", "Bob", "Carol"}
            assert {u["role"] for u in presence["users"]} == {"owner", "author", "editor"}
            joined = [(await a.until("userJoined"))["displayName"] for _ in range(3)]
            assert joined == ["Alice", "Bob", "Carol"]

            refused = await b.command({"type": "submitTurn", "text": "Too early."})
            assert refused["type"] == "error"
            assert refused["code"] == "notYourTurn"

            writers = [(a, alice), (b, bob), (c, carol), (a, alice)]
            for number, (client, user) in enumerate(writers, start=1):
                ack = await client.command({"type": "submitTurn", "text": f"Part {number}."})
                assert ack == {"type": "ack", "clientMsgId": ack["clientMsgId"], "seq": number}
                for watcher in (a, b, c):
                    update = await watcher.until("storyUpdated")
                    assert update["segment"]["seq"] == number
                    assert update["segment"]["authorId"] == str(user.id)
                    assert update["segment"]["content"] == f"Part {number}."

            chat = await c.command({"type": "sendChatMessage", "text": "Nice one!"})
            assert chat["type"] == "ack"
            assert isinstance(chat["messageId"], int)
            for watcher in (a, b, c):
                said = await watcher.until("chatMessageReceived")
                assert said["message"]["content"] == "Nice one!"
                assert said["message"]["authorId"] == str(carol.id)

            started = await a.command({"type": "startVoteToEnd"})
            assert started["type"] == "ack"
            vote_id = started["voteId"]
            seen_by_b = await b.until("voteStarted")
            assert seen_by_b["voteId"] == vote_id
            assert seen_by_b["presentAuthors"] == 3
            cast = await b.command({"type": "castVote", "voteId": vote_id, "inFavor": True})
            assert cast["type"] == "ack"
            for watcher in (a, b, c):
                decided = await watcher.until("voteUpdated")
                assert decided["status"] == "passed"
                ended = await watcher.until("storyEnded")
                assert ended["reason"] == "vote"
                assert ended["lastSeq"] == 4

            after = await b.command({"type": "submitTurn", "text": "One more?"})
            assert after["type"] == "error"
            assert after["code"] == "storyEnded"
        finally:
            for client in (a, b, c):
                await client.close()
        assert [s[0] for s in segments(server, story)] == [1, 2, 3, 4]
        assert story_status(server, story) == "completed"


class TestPresence:
    """Several sockets of one user count once."""

    async def test_second_socket_of_a_user_is_not_a_second_person(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server, display_name="Alice")
        bob = create_user(server, display_name="Bob")
        story = create_story(server, alice, [(bob, "author")])
        a = await StoryClient.open(server, story, alice.token)
        b1 = await StoryClient.open(server, story, bob.token)
        b2 = await StoryClient.open(server, story, bob.token)
        try:
            await a.join()
            await b1.join()
            await b2.join()
            await b1.close()
            await a.send({"type": "ping"})
            await a.until("pong")
            # Wait until the server has processed b1's departure, then count.
            await b2.command({"type": "sendChatMessage", "text": "still here"})
            await a.until("chatMessageReceived")
            joined = [e for e in a.seen if e["type"] == "userJoined"]
            assert [e["userId"] for e in joined] == [str(alice.id), str(bob.id)]
            assert not [e for e in a.seen if e["type"] == "userLeft"]
            await b2.close()
            left = await a.until("userLeft")
            assert left["userId"] == str(bob.id)
            a2 = await StoryClient.open(server, story, alice.token)
            await a2.join()
            snapshot = await a2.until("presence")
            assert [u["userId"] for u in snapshot["users"]] == [str(alice.id)]
            await a2.close()
        finally:
            await a.close()


class TestEnding:
    """Votes expire; the owner can end the story over REST; a late joiner is told."""

    async def test_vote_expires_without_a_majority(self, server: ServerProcess) -> None:
        alice = create_user(server)
        bob = create_user(server)
        carol = create_user(server)
        story = create_story(
            server, alice, [(bob, "author"), (carol, "author")], settings={"voteSeconds": 1}
        )
        clients = [await StoryClient.open(server, story, u.token) for u in (alice, bob, carol)]
        try:
            for client in clients:
                await client.join()
            started = await clients[0].command({"type": "startVoteToEnd"})
            expired = await clients[1].until("voteUpdated", timeout=4)
            assert expired["voteId"] == started["voteId"]
            assert expired["status"] == "expired"
            again = await clients[1].command({"type": "startVoteToEnd"})
            assert again["type"] == "ack"
        finally:
            for client in clients:
                await client.close()
        assert story_status(server, story) == "active"

    async def test_owner_ends_the_story_over_rest(self, server: ServerProcess) -> None:
        alice = create_user(server)
        bob = create_user(server)
        story = create_story(server, alice, [(bob, "author")])
        b = await StoryClient.open(server, story, bob.token)
        try:
            await b.join()
            async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
                refused = await http.post(f"/stories/{story}/end", headers=bob.headers)
                assert refused.status_code == 403
                ended = await http.post(f"/stories/{story}/end", headers=alice.headers)
                assert ended.status_code == 200, ended.text
                assert ended.json()["status"] == "completed"
                again = await http.post(f"/stories/{story}/end", headers=alice.headers)
                assert again.status_code == 200
                late = await http.post(
                    f"/stories/{story}/turns",
                    json={"clientMsgId": "late", "text": "More?"},
                    headers=bob.headers,
                )
                assert late.status_code == 409
                assert late.json()["code"] == "storyEnded"
            event = await b.until("storyEnded")
            assert event["reason"] == "owner"
        finally:
            await b.close()
        assert story_status(server, story) == "completed"
        c = await StoryClient.open(server, story, bob.token)
        try:
            await c.join()
            told = await c.until("storyEnded")
            assert told["reason"] == "owner"
        finally:
            await c.close()
