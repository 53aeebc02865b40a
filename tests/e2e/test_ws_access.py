"""Who may open a story socket, what each may do, and how bad frames are answered."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.server import ServerProcess
from tests.support.stories import create_story
from tests.support.users import create_user
from tests.support.wsclient import StoryClient


async def _refused_status(server: ServerProcess, story: uuid.UUID, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await StoryClient.open(server, story, **kwargs)  # type: ignore[arg-type]
    return refused.value.response.status_code


async def _closed_code(client: StoryClient, timeout: float = 5) -> int:
    async def drain() -> None:
        while True:
            await client.recv(timeout)

    with pytest.raises(ConnectionClosed) as closed:
        await drain()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


class TestUpgrade:
    """Checks made before a socket is accepted."""

    async def test_origin_not_allowed_is_refused_before_accepting(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        status = await _refused_status(
            server, story, token=alice.token, origin="https://evil.example"
        )
        assert status == 403

    async def test_missing_or_bad_credentials_are_refused(self, server: ServerProcess) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        assert await _refused_status(server, story) == 401
        assert await _refused_status(server, story, token="not-a-token") == 401
        assert await _refused_status(server, story, ticket="made-up") == 401

    async def test_strangers_and_too_young_users_cannot_tell_the_story_exists(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        stranger = create_user(server)
        child = create_user(server, age_tier="child")
        story = create_story(server, alice, [(child, "author")], age_rating="teen")
        assert await _refused_status(server, story, token=stranger.token) == 404
        assert await _refused_status(server, story, token=child.token) == 404
        assert await _refused_status(server, uuid.uuid4(), token=alice.token) == 404

    async def test_inactive_account_is_refused(self, server: ServerProcess) -> None:
        alice = create_user(server)
        pending = create_user(server, age_tier="child", status="pendingConsent")
        story = create_story(server, alice, [(pending, "author")])
        assert await _refused_status(server, story, token=pending.token) == 403

    async def test_ticket_opens_the_socket_once(self, server: ServerProcess) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            issued = await http.post(f"/stories/{story}/ws-ticket", headers=alice.headers)
        assert issued.status_code == 200, issued.text
        ticket = issued.json()["ticket"]
        client = await StoryClient.open(server, story, ticket=ticket)
        try:
            assert (await client.join())["type"] == "ack"
        finally:
            await client.close()
        assert await _refused_status(server, story, ticket=ticket) == 401


class TestAuthorization:
    """Every message is authorized against the sender's current role."""

    async def test_viewer_cannot_write_chat_or_vote(self, server: ServerProcess) -> None:
        alice = create_user(server)
        viewer = create_user(server)
        story = create_story(server, alice, [(viewer, "viewer")])
        v = await StoryClient.open(server, story, viewer.token)
        try:
            await v.join()
            for command in (
                {"type": "submitTurn", "text": "Mine now."},
                {"type": "sendChatMessage", "text": "hello"},
                {"type": "startVoteToEnd"},
                {"type": "castVote", "voteId": "x", "inFavor": True},
            ):
                answer = await v.command(command)
                assert (answer["type"], answer["code"]) == ("error", "forbidden"), command
        finally:
            await v.close()

    async def test_commands_before_join_are_refused(self, server: ServerProcess) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        a = await StoryClient.open(server, story, alice.token)
        try:
            answer = await a.command({"type": "submitTurn", "text": "Hi"})
            assert answer["code"] == "notJoined"
        finally:
            await a.close()

    async def test_removed_collaborator_socket_is_closed_at_once(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        bob = create_user(server)
        story = create_story(server, alice, [(bob, "author")])
        a = await StoryClient.open(server, story, alice.token)
        b = await StoryClient.open(server, story, bob.token)
        try:
            await a.join()
            await b.join()
            async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
                removed = await http.delete(
                    f"/stories/{story}/collaborators/{bob.id}", headers=alice.headers
                )
            assert removed.status_code == 204, removed.text
            assert await _closed_code(b) == 4403
            left = await a.until(lambda e: e["type"] == "userLeft" and e["userId"] == str(bob.id))
            assert left
        finally:
            await a.close()

    async def test_logout_closes_the_users_sockets(self, server: ServerProcess) -> None:
        email = f"ws-{uuid.uuid4().hex[:10]}@example.test"
        password = "correct horse battery staple 42"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            registered = await http.post(
                "/auth/register",
                json={
                    "email": email,
                    "password": password,
                    "displayName": "Eve",
                    "birthDate": "1990-01-01",
                },
            )
            assert registered.status_code == 201, registered.text
            tokens = (
                await http.post("/auth/login", json={"email": email, "password": password})
            ).json()
            owner = create_user(server)
            story = create_story(server, owner)
            from tests.support.server_db import execute

            execute(
                server,
                'INSERT INTO collaborators (story, "user", role, joined_at)'
                " VALUES (?, ?, 'author', CURRENT_TIMESTAMP)",
                story,
                uuid.UUID(registered.json()["id"]),
            )
            client = await StoryClient.open(server, story, tokens["accessToken"])
            await client.join()
            out = await http.post("/auth/logout", json={"refreshToken": tokens["refreshToken"]})
            assert out.status_code == 204
        assert await _closed_code(client) == 4401


class TestFrames:
    """Bad frames are answered; the socket stays usable; oversized frames close it."""

    async def test_malformed_unknown_and_wrong_fields_answer_invalid_message(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        a = await StoryClient.open(server, story, alice.token)
        try:
            await a.join()
            for frame in (
                "not json at all",
                json.dumps({"type": "danceParty"}),
                json.dumps([1, 2, 3]),
                json.dumps({"type": "submitTurn", "clientMsgId": "w1"}),
                json.dumps({"type": "submitTurn", "clientMsgId": "w2", "text": "x", "extra": 1}),
                json.dumps({"type": "submitTurn", "clientMsgId": "w3", "text": ""}),
                # PostgreSQL cannot store a NUL; refused on both engines alike.
                json.dumps({"type": "submitTurn", "clientMsgId": "w4", "text": "a\x00b"}),
                json.dumps({"type": "sendChatMessage", "clientMsgId": "w5", "text": "\x00"}),
                # Past what a seq can be (a 32-bit column on PostgreSQL).
                json.dumps({"type": "joinStory", "lastSeq": 2**40}),
            ):
                await a.ws.send(frame)
                answer = await a.until("error")
                assert answer["code"] == "invalidMessage", frame
            assert [e.get("clientMsgId") for e in a.seen if e["type"] == "error"] == [
                None,
                None,
                None,
                "w1",
                "w2",
                "w3",
                "w4",
                "w5",
                None,
            ]
            nul = [e["message"] for e in a.seen if e.get("clientMsgId") in ("w4", "w5")]
            assert nul == ["Text must not contain the NUL character (\\u0000)."] * 2
            assert (await a.command({"type": "submitTurn", "text": "Still here."}))["seq"] == 1
        finally:
            await a.close()

    async def test_frame_over_64_kb_closes_with_1009(self, server: ServerProcess) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        a = await StoryClient.open(server, story, alice.token)
        await a.join()
        big = json.dumps({"type": "submitTurn", "clientMsgId": "big", "text": "x" * 70_000})
        await a.ws.send(big)
        assert await _closed_code(a) == 1009

    async def test_frame_just_under_64_kb_is_answered(self, server: ServerProcess) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        a = await StoryClient.open(server, story, alice.token)
        try:
            await a.join()
            text = "y" * 60_000
            await a.send({"type": "submitTurn", "clientMsgId": "near", "text": text})
            answer = await a.answer("near")
            assert answer["code"] == "invalidMessage"  # longer than a turn may be
        finally:
            await a.close()

    async def test_message_flood_is_rate_limited_then_recovers(self, server: ServerProcess) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        a = await StoryClient.open(server, story, alice.token)
        try:
            # 200 at once: even on a loaded machine far more than 40 + 20/s.
            await asyncio.gather(*(a.send({"type": "ping"}) for _ in range(200)))
            answers = [await a.recv() for _ in range(200)]
            limited = [e for e in answers if e["type"] == "error"]
            assert limited
            assert all(e["code"] == "rateLimited" for e in limited)
            assert sum(e["type"] == "pong" for e in answers) >= 40
            await asyncio.sleep(1.0)
            await a.send({"type": "ping"})
            assert (await a.recv())["type"] == "pong"
        finally:
            await a.close()
