"""The story actor on real PostgreSQL and SQLite: durability, order, idempotency, restart."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import msgspec
import pytest

from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import User
from storyhub.sessions import persistence
from storyhub.sessions.connection import CLOSE_SLOW_CONSUMER, Connection, Outbox
from storyhub.sessions.hooks import AiTurnContext, AiTurnDecision, ContentContext, ContentVerdict
from storyhub.sessions.messages import AiSegmentReady, Chat, EndStory, Join, Leave, Submit
from storyhub.sessions.protocol import Ack, Error, Event, JoinStory
from storyhub.sessions.registry import LocalSessionRegistry
from storyhub.stories.tables import Collaborator, Segment, Story


class Sink:
    """A socket stand-in that records frames (optionally stalling)."""

    def __init__(self, stall: bool = False) -> None:
        self.frames: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.closed: int | None = None
        if not stall:
            self.gate.set()

    async def send(self, frame: str) -> None:
        await self.gate.wait()
        self.frames.append(json.loads(frame))

    async def close(self, code: int, reason: str) -> None:
        self.closed = code

    def seqs(self) -> list[int]:
        return [f["segment"]["seq"] for f in self.frames if f["type"] == "storyUpdated"]


async def _user(name: str = "Ada") -> Principal:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name=name,
        birth_date_enc="x",
        age_tier="adult",
    )
    await user.save()
    return Principal(
        id=user.id,
        email=user.email,
        display_name=name,
        role="user",
        age_tier="adult",
        status="active",
        auth_epoch=0,
    )


async def _story(owner: Principal, *others: tuple[Principal, str], **settings: Any) -> uuid.UUID:
    story = Story(
        title="T",
        premise="P",
        creator=owner.id,
        age_rating="allAges",
        settings=json.dumps({"turnSeconds": 60, **settings}),
    )
    await story.save()
    for user, role in [(owner, "author"), *others]:
        await Collaborator(story=story.id, user=user.id, role=role).save()
    return story.id


def _conn(story: uuid.UUID, user: Principal, role: str, sink: Sink) -> Connection:
    outbox = Outbox(sink.send, sink.close, limit=32)
    conn = Connection(story_id=story, principal=user, role=role, outbox=outbox)
    return conn


async def _settle(registry: LocalSessionRegistry, story: uuid.UUID) -> None:
    """Wait until the actor has handled everything sent so far."""
    session = registry.get_active(story)
    assert session is not None
    for _ in range(200):
        if session._mailbox.empty():
            await asyncio.sleep(0.02)
            if session._mailbox.empty():
                return
        await asyncio.sleep(0.01)


async def _submit(
    registry: LocalSessionRegistry, story: uuid.UUID, user: Principal, msg_id: str, text: str
) -> Event:
    return await registry.ask(story, lambda reply: Submit(user.id, "owner", msg_id, text, reply))


@pytest.fixture
async def registry(db: Any) -> Any:
    registry = LocalSessionRegistry(idle_seconds=60)
    await registry.start()
    yield registry
    await registry.stop()


class TestDurability:
    async def test_no_ack_and_no_broadcast_when_the_commit_fails(
        self, registry: LocalSessionRegistry, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        owner = await _user()
        story = await _story(owner)
        sink = Sink()
        conn = _conn(story, owner, "owner", sink)
        registry.send(story, Join(conn, JoinStory()))

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise OSError("disk on fire")

        monkeypatch.setattr(persistence, "commit_segment", broken)
        answer = await _submit(registry, story, owner, "m1", "lost?")
        assert isinstance(answer, Error)
        assert answer.code == "unavailable"
        monkeypatch.undo()
        await _settle(registry, story)
        assert sink.seqs() == []
        # The seq was not consumed: the next commit is seq 1.
        ok = await _submit(registry, story, owner, "m1", "again")
        assert isinstance(ok, Ack)
        assert ok.seq == 1
        row = await Segment.select(Segment.seq).where(Segment.story == story).first()
        assert row == {"seq": 1}

    async def test_ack_comes_after_the_row_exists(self, registry: LocalSessionRegistry) -> None:
        owner = await _user()
        story = await _story(owner)
        conn = _conn(story, owner, "owner", Sink())
        registry.send(story, Join(conn, JoinStory()))
        for n in range(1, 6):
            ack = await _submit(registry, story, owner, f"m{n}", f"t{n}")
            assert isinstance(ack, Ack)
            assert ack.seq == n
            assert await Segment.count().where((Segment.story == story) & (Segment.seq == n)) == 1

    async def test_retry_returns_the_original_seq_and_creates_nothing(
        self, registry: LocalSessionRegistry
    ) -> None:
        owner = await _user()
        story = await _story(owner)
        conn = _conn(story, owner, "owner", Sink())
        registry.send(story, Join(conn, JoinStory()))
        first = await _submit(registry, story, owner, "same", "text")
        again = await _submit(registry, story, owner, "same", "text")
        other = await _submit(registry, story, owner, "same", "different")
        assert isinstance(first, Ack)
        assert isinstance(again, Ack)
        assert first.seq == again.seq == 1
        assert isinstance(other, Error)
        assert other.code == "clientMsgIdReused"
        assert await Segment.count().where(Segment.story == story) == 1


class TestOrdering:
    async def test_join_during_a_stream_sees_every_segment_once_in_order(
        self, registry: LocalSessionRegistry
    ) -> None:
        owner = await _user()
        watcher = await _user("Watcher")
        story = await _story(owner, (watcher, "viewer"))
        owner_conn = _conn(story, owner, "owner", Sink())
        registry.send(story, Join(owner_conn, JoinStory()))
        for n in range(1, 11):
            await _submit(registry, story, owner, f"m{n}", f"t{n}")
        sink = Sink()
        late = _conn(story, watcher, "viewer", sink)
        replies: list[asyncio.Future[Event]] = []
        # Queue turns around the join: the join is handled between them, atomically.
        for n in range(11, 31):
            if n == 15:
                registry.send(story, Join(late, JoinStory(last_seq=4)))
            replies.append(asyncio.ensure_future(_submit(registry, story, owner, f"m{n}", f"t{n}")))
        await asyncio.gather(*replies)
        await _settle(registry, story)
        await asyncio.sleep(0.05)
        assert sink.seqs() == list(range(5, 31))

    async def test_slow_socket_is_closed_and_others_get_everything(
        self, registry: LocalSessionRegistry
    ) -> None:
        owner = await _user()
        viewer = await _user("V")
        story = await _story(owner, (viewer, "viewer"))
        fast_sink, slow_sink = Sink(), Sink(stall=True)
        fast = _conn(story, owner, "owner", fast_sink)
        slow = _conn(story, viewer, "viewer", slow_sink)
        registry.send(story, Join(fast, JoinStory()))
        registry.send(story, Join(slow, JoinStory()))
        for n in range(1, 61):
            await _submit(registry, story, owner, f"m{n}", f"t{n}")
        await asyncio.sleep(0.05)
        assert slow.outbox.close_code == CLOSE_SLOW_CONSUMER
        assert fast_sink.seqs() == list(range(1, 61))


class TestLifecycle:
    async def test_turn_and_deadline_survive_a_restart(self, db: Any) -> None:
        alice, bob = await _user("A"), await _user("B")
        story = await _story(alice, (bob, "author"))
        first = LocalSessionRegistry(idle_seconds=60)
        await first.start()
        a = _conn(story, alice, "owner", Sink())
        b = _conn(story, bob, "author", Sink())
        first.send(story, Join(a, JoinStory()))
        first.send(story, Join(b, JoinStory()))
        await _submit(first, story, alice, "m1", "one")
        before = first.get_active(story)
        assert before is not None
        holder, deadline = before.state.holder, before.state.deadline
        assert holder == str(bob.id)
        await first.stop()

        second = LocalSessionRegistry(idle_seconds=60)
        await second.start()
        try:
            b2 = _conn(story, bob, "author", Sink())
            second.send(story, Join(b2, JoinStory(last_seq=1)))
            await _settle(second, story)
            after = second.get_active(story)
            assert after is not None
            assert (after.state.holder, after.state.deadline) == (holder, deadline)
            assert after.state.last_seq == 1
            ack = await _submit(second, story, bob, "m2", "two")
            assert isinstance(ack, Ack)
            assert ack.seq == 2
        finally:
            await second.stop()

    async def test_idle_actor_passivates_and_reactivates(self, db: Any) -> None:
        owner = await _user()
        story = await _story(owner)
        registry = LocalSessionRegistry(idle_seconds=0.2)
        await registry.start()
        try:
            conn = _conn(story, owner, "owner", Sink())
            registry.send(story, Join(conn, JoinStory()))
            await _submit(registry, story, owner, "m1", "one")
            registry.send(story, Leave(conn, disconnected=True))
            for _ in range(100):
                if registry.get_active(story) is None:
                    break
                await asyncio.sleep(0.02)
            assert registry.get_active(story) is None
            ack = await _submit(registry, story, owner, "m2", "two")
            assert isinstance(ack, Ack)
            assert ack.seq == 2
        finally:
            await registry.stop()

    async def test_stop_drains_the_mailbox_first(self, db: Any) -> None:
        owner = await _user()
        story = await _story(owner)
        registry = LocalSessionRegistry(idle_seconds=60)
        await registry.start()
        conn = _conn(story, owner, "owner", Sink())
        registry.send(story, Join(conn, JoinStory()))
        answers: list[Event] = []
        for n in range(1, 11):
            registry.send(story, Submit(owner.id, "owner", f"m{n}", f"t{n}", answers.append))
        await registry.stop()
        assert [a.seq for a in answers if isinstance(a, Ack)] == list(range(1, 11))
        assert await Segment.count().where(Segment.story == story) == 10

    async def test_owner_ends_the_story(self, registry: LocalSessionRegistry) -> None:
        owner = await _user()
        other = await _user("O")
        story = await _story(owner, (other, "author"))
        sink = Sink()
        conn = _conn(story, owner, "owner", sink)
        registry.send(story, Join(conn, JoinStory()))
        refused = await registry.ask(story, lambda reply: EndStory(other.id, reply))
        assert isinstance(refused, Error)
        assert refused.code == "forbidden"
        done = await registry.ask(story, lambda reply: EndStory(owner.id, reply))
        assert isinstance(done, Ack)
        record = await persistence.load_story(story)
        assert record is not None
        assert record.status == "completed"
        late = await _submit(registry, story, owner, "m1", "too late")
        assert isinstance(late, Error)
        assert late.code == "storyEnded"
        await asyncio.sleep(0.05)
        assert any(f["type"] == "storyEnded" and f["reason"] == "owner" for f in sink.frames)
        assert msgspec.json.decode(json.dumps(record.turn_state))["holder"] is None


class TestRecords:
    async def test_replayed_segments_and_chat_carry_aware_timestamps(self, db: Any) -> None:
        owner = await _user()
        story = await _story(owner)
        await persistence.commit_segment(
            story, seq=1, author_id=owner.id, content="c", client_msg_id="m", turn_state={}
        )
        chat = await persistence.insert_chat(story, owner.id, "hi", "c1")
        again = await persistence.chat_by_client_msg_id(story, "c1")
        (segment,) = await persistence.segments_after(story, 0)
        assert segment.created_at.tzinfo is not None
        assert again is not None
        assert again.id == chat.id
        assert again.created_at.tzinfo is not None
        assert await persistence.last_seq(story) == 1


class RedactingFilter:
    """Refuses texts with 'forbidden' and masks 'secret'."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def check(self, text: str, context: ContentContext) -> ContentVerdict:
        self.seen.append((context.kind, text))
        if "forbidden" in text:
            return ContentVerdict(allowed=False, text="", reason="Not for this story.")
        return ContentVerdict(allowed=True, text=text.replace("secret", "******"))


class DeferringSeat:
    """An AI seat that starts work elsewhere and answers later."""

    def __init__(self) -> None:
        self.turns: list[AiTurnContext] = []

    async def turn_started(self, context: AiTurnContext) -> AiTurnDecision:
        self.turns.append(context)
        return AiTurnDecision(action="deferred")


class TestHooks:
    async def test_content_filter_sees_turns_and_chat_before_they_are_stored(self, db: Any) -> None:
        owner = await _user()
        story = await _story(owner)
        content = RedactingFilter()
        registry = LocalSessionRegistry(idle_seconds=60, content_filter=content)
        await registry.start()
        try:
            sink = Sink()
            conn = _conn(story, owner, "owner", sink)
            registry.send(story, Join(conn, JoinStory()))
            refused = await _submit(registry, story, owner, "m1", "a forbidden word")
            assert isinstance(refused, Error)
            assert refused.code == "contentRejected"
            assert refused.message == "Not for this story."
            ok = await _submit(registry, story, owner, "m2", "my secret plan")
            assert isinstance(ok, Ack)
            assert ok.seq == 1
            chat = await registry.ask(
                story, lambda reply: Chat(owner.id, "owner", "Ada", "c1", "secret!", reply)
            )
            assert isinstance(chat, Ack)
        finally:
            await registry.stop()
        rows = await Segment.select(Segment.seq, Segment.content).where(Segment.story == story)
        assert rows == [{"seq": 1, "content": "my ****** plan"}]
        assert content.seen == [
            ("turn", "a forbidden word"),
            ("turn", "my secret plan"),
            ("chat", "secret!"),
        ]

    async def test_ai_seat_can_defer_and_write_its_segment_later(self, db: Any) -> None:
        owner = await _user()
        story = await _story(owner, aiNarrator=True)
        seat = DeferringSeat()
        registry = LocalSessionRegistry(idle_seconds=60, ai_seat=seat)
        await registry.start()
        try:
            sink = Sink()
            conn = _conn(story, owner, "owner", sink)
            registry.send(story, Join(conn, JoinStory()))
            await _submit(registry, story, owner, "m1", "Once upon a time")
            await _settle(registry, story)
            assert [t.last_seq for t in seat.turns] == [1]
            session = registry.get_active(story)
            assert session is not None
            assert session.state.holder == "ai"
            refused = await _submit(registry, story, owner, "m2", "me again")
            assert isinstance(refused, Error)
            assert refused.code == "notYourTurn"
            registry.send(story, AiSegmentReady(text="a dragon appeared"))
            # An empty mailbox is not a finished step (the commit is awaited): wait for
            # the turn to move, up to 5 s.
            for _ in range(250):
                if session.state.holder != "ai":
                    break
                await asyncio.sleep(0.02)
            assert session.state.holder == str(owner.id)
        finally:
            await registry.stop()
        updates = [f for f in sink.frames if f["type"] == "storyUpdated"]
        assert [(u["segment"]["seq"], u["segment"]["authorId"]) for u in updates] == [
            (1, str(owner.id)),
            (2, None),
        ]
