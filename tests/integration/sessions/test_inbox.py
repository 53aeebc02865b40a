"""Background work reaches a live room: in-process, and through real Redis pub/sub."""

from __future__ import annotations

import asyncio
from typing import Any

from storyhub.lib.kv import open_valkey
from storyhub.sessions.connection import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT
from storyhub.sessions.inbox import InboxListener, LocalNotifier, ValkeyNotifier
from storyhub.sessions.messages import Join
from storyhub.sessions.protocol import JoinStory
from storyhub.sessions.registry import LocalSessionRegistry
from storyhub.stories.tables import Collaborator
from tests.integration.sessions.test_actor import (
    DeferringSeat,
    Sink,
    _conn,
    _settle,
    _story,
    _submit,
    _user,
)


async def _wait_for(sink: Sink, kind: str, count: int = 1) -> list[dict[str, Any]]:
    for _ in range(250):
        found = [f for f in sink.frames if f["type"] == kind]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} after 5 s: {sink.frames}")


class TestInbox:
    async def test_local_notifier_reaches_an_active_room_only(self, db: Any) -> None:
        owner = await _user()
        story = await _story(owner)
        idle_story = await _story(owner)
        registry = LocalSessionRegistry(idle_seconds=60)
        await registry.start()
        try:
            notifier = LocalNotifier(registry)
            sink = Sink()
            conn = _conn(story, owner, "owner", sink)
            registry.send(story, Join(conn, JoinStory()))
            await _settle(registry, story)
            await notifier.media_ready(story, 1, "image", "https://cdn.example/1.webp")
            (ready,) = await _wait_for(sink, "mediaReady")
            assert ready == {
                "type": "mediaReady",
                "seq": 1,
                "kind": "image",
                "url": "https://cdn.example/1.webp",
            }
            await notifier.media_ready(idle_story, 1, "audio", "https://cdn.example/a.opus")
            assert registry.get_active(idle_story) is None  # not activated for nobody
        finally:
            await registry.stop()

    async def test_worker_notifications_cross_processes_through_redis(
        self, db: Any, redis_url: str
    ) -> None:
        owner = await _user()
        story = await _story(owner, aiNarrator=True)
        registry = LocalSessionRegistry(idle_seconds=60, ai_seat=DeferringSeat())
        await registry.start()
        api_side, worker_side = open_valkey(redis_url), open_valkey(redis_url)
        listener = InboxListener(api_side, registry)
        await listener.start()
        try:
            sink = Sink()
            conn = _conn(story, owner, "owner", sink)
            registry.send(story, Join(conn, JoinStory()))
            await _submit(registry, story, owner, "m1", "Once.")
            notifier = ValkeyNotifier(worker_side)
            await notifier.media_ready(story, 1, "video", "https://cdn.example/1.mp4")
            (ready,) = await _wait_for(sink, "mediaReady")
            assert ready["kind"] == "video"
            await notifier.ai_text(story, "A dragon appeared.")
            updates = await _wait_for(sink, "storyUpdated", 2)
            assert updates[1]["segment"]["authorId"] is None
            assert updates[1]["segment"]["seq"] == 2
            await listener.on_payload(b"not an envelope")  # ignored, not fatal
        finally:
            await listener.stop()
            await registry.stop()
            await api_side.aclose()
            await worker_side.aclose()


class TestAcrossNodes:
    """Logout and membership changes reach sockets held by another node."""

    async def test_revocation_and_removal_travel_through_redis(
        self, db: Any, redis_url: str
    ) -> None:
        owner = await _user()
        guest = await _user("Guest")
        story = await _story(owner, (guest, "author"))
        node_a = LocalSessionRegistry(idle_seconds=60)
        node_b = LocalSessionRegistry(idle_seconds=60)
        clients = [open_valkey(redis_url) for _ in range(3)]
        listeners = [InboxListener(clients[0], node_a), InboxListener(clients[1], node_b)]
        for registry in (node_a, node_b):
            await registry.start()
        for listener in listeners:
            await listener.start()
        try:
            owner_sink, guest_sink = Sink(), Sink()
            owner_conn = _conn(story, owner, "owner", owner_sink)
            guest_conn = _conn(story, guest, "author", guest_sink)
            node_b.attach(owner_conn)
            node_b.attach(guest_conn)
            node_b.send(story, Join(guest_conn, JoinStory()))
            await _settle(node_b, story)
            # The request was served by node A; the sockets live on node B.
            notifier = ValkeyNotifier(clients[2])
            await Collaborator.delete().where(
                (Collaborator.story == story) & (Collaborator.user == guest.id)
            )
            await notifier.collaborator_changed(story, guest.id)
            for _ in range(250):
                if guest_conn.closed:
                    break
                await asyncio.sleep(0.02)
            assert guest_conn.outbox.close_code == CLOSE_FORBIDDEN
            assert not owner_conn.closed
            await notifier.revoke_user(owner.id)
            for _ in range(250):
                if owner_conn.closed:
                    break
                await asyncio.sleep(0.02)
            assert owner_conn.outbox.close_code == CLOSE_SIGNED_OUT
        finally:
            for listener in listeners:
                await listener.stop()
            for registry in (node_a, node_b):
                await registry.stop()
            for client in clients:
                await client.aclose()
