"""The AI narrator's seat in live rooms, in both modes, against a real OpenAI-compatible server.

Each mode gets its own server configured with ``STORYHUB_OPENAI_BASE_URL`` pointing
at :class:`~tests.support.fake_openai.FakeOpenAI` (text only); services mode also
gets a real ``storyhub worker`` that runs the narrator task and reports through
Redis. Scripts are keyed by each story's title, so the tests never share replies
or call counts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import base_env, fresh_pg_database
from tests.support.fake_openai import FakeOpenAI
from tests.support.families import register_family
from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import TestUser, create_user
from tests.support.worker import WorkerProcess
from tests.support.wsclient import Event, StoryClient

AI_SECONDS = 30.0
"""How long a test waits for the narrator (the worker may still be warming up)."""
START_SECONDS = 90.0
"""A loaded CI machine takes a while to import and warm the safety model."""
UNSAFE = "What the fuck is this?"


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module", params=["embedded", "services"])
def ai_server(
    request: pytest.FixtureRequest,
    fake_openai: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    """A server whose narrator writes through the fake endpoint (plus a worker in services)."""
    mode = request.param
    env = base_env(tmp_path_factory.mktemp(f"ai-{mode}"))
    env.update(
        {
            "STORYHUB_OPENAI_BASE_URL": fake_openai.base_url,
            "STORYHUB_AI_OPENAI_KINDS": "text",
            "STORYHUB_AI_MAX_REGENERATIONS": "2",
        }
    )
    if mode == "services":
        redis_url: str = request.getfixturevalue("redis_url")
        env["STORYHUB_DATABASE_URL"] = fresh_pg_database("ai")
        # A database of its own on the private Redis: no other test's worker takes our tasks.
        env["STORYHUB_VALKEY_URL"] = redis_url.rsplit("/", 1)[0] + "/7"
    logs = tmp_path_factory.mktemp(f"ai-{mode}-logs")
    server = ServerProcess(env, logs / "server.log")
    server.start(timeout=START_SECONDS)
    worker = None
    if mode == "services":
        worker = WorkerProcess(server.env, logs / "worker.log").start()
    yield server
    if worker is not None:
        worker.stop()
    server.stop()


def _title() -> str:
    return f"Tale {uuid.uuid4().hex[:10]}"


def _turn_for(user: TestUser) -> Callable[[Event], bool]:
    return lambda e: e.get("type") == "newTurn" and e.get("userId") == str(user.id)


def _ai_turn(e: Event) -> bool:
    return e.get("type") == "newTurn" and e.get("aiSeat") is True


def _ai_update(e: Event) -> bool:
    return e.get("type") == "storyUpdated" and e["segment"]["authorId"] is None


def _segments(server: ServerProcess, story: uuid.UUID) -> list[tuple[int, str | None, str, int]]:
    rows = execute(
        server,
        "SELECT seq, author, content, revision FROM segments WHERE story = ? ORDER BY seq",
        story,
    )
    return [(int(r[0]), None if r[1] is None else str(r[1]), str(r[2]), int(r[3])) for r in rows]


def _ai_moderation(server: ServerProcess, story: uuid.UUID) -> list[tuple[str, str | None, str]]:
    rows = execute(
        server,
        "SELECT source, author, verdict FROM moderation_items WHERE story = ? ORDER BY created_at",
        story,
    )
    return [(str(r[0]), None if r[1] is None else str(r[1]), str(r[2])) for r in rows]


async def _open(server: ServerProcess, story: uuid.UUID, user: TestUser) -> StoryClient:
    client = await StoryClient.open(server, story, user.token)
    assert (await client.join())["type"] == "ack"
    return client


async def _write(client: StoryClient, user: TestUser, text: str) -> int:
    """Wait for ``user``'s turn, write ``text``; return its seq."""
    await client.until(_turn_for(user), timeout=AI_SECONDS)
    ack = await client.command({"type": "submitTurn", "text": text})
    assert ack["type"] == "ack", ack
    seq: int = ack["seq"]
    return seq


class TestNarratorTakesItsTurn:
    async def test_author_writes_the_ai_answers_and_the_turn_comes_back(
        self, ai_server: ServerProcess, fake_openai: FakeOpenAI
    ) -> None:
        server = ai_server
        title = _title()
        reply = "The lantern flickered, and the fox smiled at the dark."
        fake_openai.script(title, [reply])
        alice = create_user(server, display_name="Alice")
        story = create_story(
            server, alice, title=title, settings={"aiNarrator": True, "turnSeconds": 60}
        )
        a = await _open(server, story, alice)
        try:
            assert await _write(a, alice, "A fox found a lantern.") == 1
            ai_turn = await a.until(_ai_turn)
            assert ai_turn["userId"] is None
            update = await a.until(_ai_update, timeout=AI_SECONDS)
            assert update["segment"]["seq"] == 2
            assert update["segment"]["content"] == reply
            back = await a.until(_turn_for(alice))
            assert back["reason"] == "submitted"
        finally:
            await a.close()
        assert fake_openai.calls(title) == 1
        assert [(seq, author, text) for seq, author, text, _ in _segments(server, story)] == [
            (1, str(alice.id), "A fox found a lantern."),
            (2, None, reply),
        ]


class TestBlockedNarratorText:
    async def test_blocked_text_is_written_again_then_committed(
        self, ai_server: ServerProcess, fake_openai: FakeOpenAI
    ) -> None:
        server = ai_server
        title = _title()
        clean = "The owl hooted softly and showed them the path home."
        fake_openai.script(title, [UNSAFE, clean])
        alice = create_user(server)
        story = create_story(
            server, alice, title=title, settings={"aiNarrator": True, "turnSeconds": 60}
        )
        a = await _open(server, story, alice)
        try:
            await _write(a, alice, "Night fell over the forest.")
            update = await a.until(_ai_update, timeout=AI_SECONDS)
            assert update["segment"]["content"] == clean
            await a.until(_turn_for(alice))
            assert not [e for e in a.seen if e["type"] == "aiTurnSkipped"]
        finally:
            await a.close()
        assert fake_openai.calls(title) == 2
        assert _ai_moderation(server, story) == [("aiText", None, "block")]

    async def test_always_blocked_text_is_regenerated_then_the_ai_passes(
        self, ai_server: ServerProcess, fake_openai: FakeOpenAI
    ) -> None:
        server = ai_server
        title = _title()
        fake_openai.script(title, [UNSAFE])
        alice = create_user(server)
        story = create_story(
            server, alice, title=title, settings={"aiNarrator": True, "turnSeconds": 60}
        )
        a = await _open(server, story, alice)
        try:
            await _write(a, alice, "Night fell over the forest.")
            await a.until(_ai_turn)
            skipped = await a.until("aiTurnSkipped", timeout=AI_SECONDS)
            assert skipped == {"type": "aiTurnSkipped", "reason": "contentBlocked", "attempts": 3}
            passed = await a.until(_turn_for(alice))
            assert passed["reason"] == "aiPassed"
            assert not [e for e in a.seen if e["type"] == "storyUpdated" and _ai_update(e)]
        finally:
            await a.close()
        assert fake_openai.calls(title) == 3  # the first text and two regenerations
        assert [seq for seq, *_ in _segments(server, story)] == [1]
        assert _ai_moderation(server, story) == [("aiText", None, "block")] * 3


def _linked_child(server: ServerProcess, scopes: list[str]) -> tuple[TestUser, dict[str, str]]:
    """A child created by a parent through the API with ``scopes``; (child, parent headers)."""
    with httpx.Client(base_url=server.base_url, timeout=15) as http:
        family = register_family(http, scopes)
    token = family.kid["Authorization"].removeprefix("Bearer ")
    user = TestUser(
        id=uuid.UUID(family.child["id"]),
        email=family.child["email"],
        token=token,
        display_name="Kit",
    )
    return user, family.parent


class TestConsentKeepsTextAtHome:
    async def test_no_provider_call_without_the_ai_scope_then_one_with_it(
        self, ai_server: ServerProcess, fake_openai: FakeOpenAI
    ) -> None:
        server = ai_server
        title = _title()
        remote = "A comet drew a silver line across the sky."
        fake_openai.script(title, [remote])
        alice = create_user(server, display_name="Alice")
        kid, parent = _linked_child(server, ["participate"])
        story = create_story(
            server,
            alice,
            [(kid, "author")],
            title=title,
            settings={"aiNarrator": True, "turnSeconds": 60},
        )
        a = await _open(server, story, alice)
        try:
            await _write(a, alice, "The campers looked up.")
            offline = await a.until(_ai_update, timeout=AI_SECONDS)
            assert offline["segment"]["content"]
            assert offline["segment"]["content"] != remote
            assert fake_openai.calls(title) == 0  # the child's room never left storyhub

            with httpx.Client(base_url=server.base_url, timeout=15) as http:
                granted = http.patch(
                    f"/parents/children/{kid.id}/consent",
                    json={"scopes": ["participate", "aiFeatures"]},
                    headers=parent,
                )
            assert granted.status_code == 200, granted.text

            await _write(a, alice, "Then they heard a whistle.")
            online = await a.until(_ai_update, timeout=AI_SECONDS)
            assert online["segment"]["content"] == remote
        finally:
            await a.close()
        assert fake_openai.calls(title) == 1
        assert [author for _, author, *_ in _segments(server, story)] == [
            str(alice.id),
            None,
            str(alice.id),
            None,
        ]


class TestRegenerate:
    async def test_writers_ask_again_and_the_segment_is_rewritten_in_place(
        self, ai_server: ServerProcess, fake_openai: FakeOpenAI
    ) -> None:
        server = ai_server
        title = _title()
        first, second, third = (
            "A door appeared in the old oak tree.",
            "A staircase spiralled down into the roots.",
            "Fireflies gathered into the shape of a key.",
        )
        fake_openai.script(title, [first, second, third])
        alice = create_user(server, display_name="Alice")
        bob = create_user(server, display_name="Bob")
        viewer = create_user(server, display_name="Vic")
        stranger = create_user(server)
        story = create_story(
            server,
            alice,
            [(bob, "author"), (viewer, "viewer")],
            title=title,
            settings={"aiNarrator": True, "turnSeconds": 60},
        )
        a = await _open(server, story, alice)
        b = await _open(server, story, bob)
        v = await _open(server, story, viewer)
        try:
            nothing = await a.command({"type": "regenerateAiSegment"})
            assert (nothing["type"], nothing["code"]) == ("error", "nothingToRegenerate")

            # Turn order: Alice, Bob, the AI.
            assert await _write(a, alice, "The children walked to the oak.") == 1
            assert await _write(b, bob, "Bob knocked on the bark.") == 2
            assert (await a.until(_ai_update, timeout=AI_SECONDS))["segment"]["content"] == first
            await a.until(_turn_for(alice))

            refused = await v.command({"type": "regenerateAiSegment"})
            assert (refused["type"], refused["code"]) == ("error", "forbidden")

            again = await a.command({"type": "regenerateAiSegment"})
            assert again == {"type": "ack", "clientMsgId": again["clientMsgId"], "seq": 3}
            taken = await a.until(lambda e: _ai_turn(e) and e["reason"] == "aiRegenerating")
            assert taken["userId"] is None
            for client in (a, b, v):
                revised = await client.until(
                    lambda e: _ai_update(e) and e.get("revised") is True, timeout=AI_SECONDS
                )
                assert revised["segment"]["seq"] == 3
                assert revised["segment"]["content"] == second
                assert revised["segment"]["revision"] == 1
            await a.until(_turn_for(alice))
            assert _segments(server, story)[2:] == [(3, None, second, 1)]

            # A client that had seq 3 before the rewrite gets it again when it resumes.
            late = await StoryClient.open(server, story, viewer.token)
            try:
                assert (await late.join(last_seq=3))["type"] == "ack"
                replayed = [e for e in late.seen if e["type"] == "storyUpdated"]
                assert [(e["segment"]["seq"], e["revised"], e["replay"]) for e in replayed] == [
                    (3, True, True)
                ]
                assert replayed[0]["segment"]["content"] == second
            finally:
                await late.close()

            # The REST twin: writers only, strangers learn nothing.
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
                path = f"/stories/{story}/turns/regenerate"
                body = {"clientMsgId": uuid.uuid4().hex}
                hidden = await http.post(path, json=body, headers=stranger.headers)
                assert hidden.status_code == 404
                viewer_answer = await http.post(path, json=body, headers=viewer.headers)
                assert viewer_answer.status_code == 403
                queued = await http.post(path, json=body, headers=alice.headers)
                assert queued.status_code == 202, queued.text
                assert queued.json()["seq"] == 3
            rewritten = await a.until(
                lambda e: _ai_update(e) and e["segment"]["content"] == third, timeout=AI_SECONDS
            )
            assert rewritten["segment"]["revision"] == 2

            # Once a writer adds a segment, the AI's text is history.
            assert await _write(a, alice, "The key turned with a click.") == 4
            late_ask = await b.command({"type": "regenerateAiSegment"})
            assert (late_ask["type"], late_ask["code"]) == ("error", "nothingToRegenerate")
        finally:
            await asyncio.gather(a.close(), b.close(), v.close())
        assert fake_openai.calls(title) == 3
        assert [(seq, text, rev) for seq, _, text, rev in _segments(server, story)] == [
            (1, "The children walked to the oak.", 0),
            (2, "Bob knocked on the bark.", 0),
            (3, third, 2),
            (4, "The key turned with a click.", 0),
        ]
