"""The safety filter in live rooms: blocks, redactions and the moderation queue, end to end."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story, segments
from tests.support.users import create_user
from tests.support.wsclient import StoryClient

QUIET_SECONDS = 1.0
"""How long a client watches for an event that must not come."""


def _turn_for(user_id: uuid.UUID):
    return lambda e: e.get("type") == "newTurn" and e.get("userId") == str(user_id)


async def _sees_nothing(client: StoryClient, event_type: str) -> None:
    with pytest.raises(TimeoutError):
        await client.until(event_type, timeout=QUIET_SECONDS)


def _chat_rows(server: ServerProcess, story: uuid.UUID) -> list[str]:
    rows = execute(server, "SELECT content FROM chat_messages WHERE story = ? ORDER BY id", story)
    return [str(r[0]) for r in rows]


def _moderation_rows(server: ServerProcess, story: uuid.UUID) -> list[tuple[str, str, str, str]]:
    rows = execute(
        server,
        "SELECT source, verdict, author, content FROM moderation_items WHERE story = ?"
        " ORDER BY created_at",
        story,
    )
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


class TestMixedRoom:
    """An adult and a child in an allAges story: the filter guards every turn and chat."""

    async def test_blocks_redacts_and_queues_for_moderation(self, server: ServerProcess) -> None:
        alice = create_user(server, display_name="Alice")
        kid = create_user(server, age_tier="child", display_name="Kid")
        story = create_story(server, alice, [(kid, "author")], settings={"turnSeconds": 30})
        a = await StoryClient.open(server, story, alice.token)
        k = await StoryClient.open(server, story, kid.token)
        try:
            for client in (a, k):
                assert (await client.join())["type"] == "ack"
            await a.until(_turn_for(alice.id))

            refused = await a.command({"type": "submitTurn", "text": "What the fuck is this?"})
            assert refused["type"] == "error"
            assert refused["code"] == "contentBlocked"
            assert "profanity" in refused["categories"]
            assert "fuck" not in refused["message"]
            await _sees_nothing(k, "storyUpdated")
            assert segments(server, story) == []

            # The refusal left the turn with Alice; a phone number is stored redacted.
            ack = await a.command(
                {"type": "submitTurn", "text": "The dragon said: call 07700 900123 tonight."}
            )
            assert ack["type"] == "ack"
            assert ack["seq"] == 1
            for watcher in (a, k):
                update = await watcher.until("storyUpdated")
                content = update["segment"]["content"]
                assert "900123" not in content
                assert content == "The dragon said: call [redacted] tonight."
            assert [(seq, text) for seq, text, _ in segments(server, story)] == [
                (1, "The dragon said: call [redacted] tonight.")
            ]

            blocked_chat = await k.command({"type": "sendChatMessage", "text": "shit shit shit"})
            assert blocked_chat["type"] == "error"
            assert blocked_chat["code"] == "contentBlocked"
            assert "profanity" in blocked_chat["categories"]
            await _sees_nothing(a, "chatMessageReceived")
            assert _chat_rows(server, story) == []

            fine = await k.command({"type": "sendChatMessage", "text": "I like the dragon!"})
            assert fine["type"] == "ack"
            said = await a.until("chatMessageReceived")
            assert said["message"]["content"] == "I like the dragon!"
            assert _chat_rows(server, story) == ["I like the dragon!"]

            items = _moderation_rows(server, story)
            assert [(source, verdict, author) for source, verdict, author, _ in items] == [
                ("turn", "block", str(alice.id)),
                ("chat", "block", str(kid.id)),
            ]
            # The original is kept for moderators, but sealed at rest.
            assert all("fuck" not in sealed and "shit" not in sealed for *_, sealed in items)
        finally:
            await asyncio.gather(a.close(), k.close())


class TestYoungestMemberSetsTheLevel:
    """A mature story is filtered as allAges once a child collaborates on it."""

    async def test_mature_story_tightens_with_a_child(self, server: ServerProcess) -> None:
        alice = create_user(server, display_name="Alice")
        bob = create_user(server, display_name="Bob")
        kid = create_user(server, age_tier="child", display_name="Kid")
        adults = create_story(server, alice, [(bob, "author")], age_rating="mature")
        mixed = create_story(server, alice, [(kid, "author")], age_rating="mature")
        text = "Damn, the bridge is out."
        for story, expected in ((adults, "ack"), (mixed, "error")):
            client = await StoryClient.open(server, story, alice.token)
            try:
                assert (await client.join())["type"] == "ack"
                await client.until(_turn_for(alice.id))
                answer = await client.command({"type": "submitTurn", "text": text})
                assert answer["type"] == expected, (story, answer)
            finally:
                await client.close()
        assert [t for _, t, _ in segments(server, adults)] == [text]
        assert segments(server, mixed) == []
