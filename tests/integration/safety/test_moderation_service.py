"""The moderation queue on SQLite and PostgreSQL: sealed text, decisions, audit, retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from storyhub.accounts.principal import Principal, Role
from storyhub.accounts.tables import User
from storyhub.audit import service as audit
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict, Forbidden, InvalidInput, NotFound
from storyhub.safety.moderation import ModerationQueue, content_context, subject
from storyhub.safety.pipeline import Verdict
from storyhub.safety.tables import ModerationItem
from storyhub.stories.tables import Story
from tests.conftest import TEST_SECRET

CIPHER = FieldCipher(TEST_SECRET)
BLOCK = Verdict("block", ["grooming", "personalData"])
SECRET_TEXT = "whats your address? mine is 12 Elm Street, call 555-123-4567"


async def make_user(role: Role = "user", tier: str = "adult", name: str = "Ada") -> Principal:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name=name,
        birth_date_enc="x",
        age_tier=tier,
        status="active",
        role=role,
    )
    await user.save()
    return Principal(
        id=user.id,
        email=user.email,
        display_name=name,
        role=role,
        age_tier=tier,  # type: ignore[arg-type]
        status="active",
        auth_epoch=0,
    )


async def make_story(owner: Principal, title: str = "The Dragon's Egg") -> uuid.UUID:
    story = Story(title=title, premise="P", creator=owner.id, age_rating="allAges")
    await story.save()
    story_id: uuid.UUID = story.id
    return story_id


@pytest.fixture
def queue() -> ModerationQueue:
    return ModerationQueue(CIPHER)


async def _seed(
    queue: ModerationQueue, text: str = SECRET_TEXT
) -> tuple[Principal, uuid.UUID, uuid.UUID]:
    author = await make_user(tier="child", name="Pip")
    story_id = await make_story(author)
    item_id = await queue.record_blocked(
        story_id=story_id, author_id=author.id, source="chat", content=text, verdict=BLOCK
    )
    return author, story_id, item_id


class TestRecording:
    async def test_content_is_sealed_at_rest_and_opened_for_moderators(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        """The raw column is ciphertext bound to the item; the detail view opens it."""
        _author, story_id, item_id = await _seed(queue)
        row = await ModerationItem.select().where(ModerationItem.id == item_id).first()
        assert row is not None
        assert row["content"] != SECRET_TEXT
        assert "Elm" not in row["content"]
        assert "555" not in row["content"]
        assert CIPHER.open(row["content"], context=content_context(item_id)) == SECRET_TEXT
        with pytest.raises(ValueError, match="decrypt"):
            CIPHER.open(row["content"], context=content_context(uuid.uuid4()))

        moderator = await make_user("moderator")
        detail = await queue.get_item(item_id, viewer_id=moderator.id)
        assert detail.content == SECRET_TEXT
        assert detail.categories == ["grooming", "personalData"]
        assert detail.status == "pending"
        assert detail.verdict == "block"
        assert detail.story_id == story_id
        assert detail.story_title == "The Dragon's Egg"
        assert detail.author_display_name == "Pip"
        assert detail.author_age_tier == "child"
        events = await audit.events_for(subject(item_id))
        assert [e["action"] for e in events] == ["moderation.viewed"]
        assert events[0]["actor_id"] == moderator.id

    async def test_ai_text_has_no_author(self, db: Any, queue: ModerationQueue) -> None:
        owner = await make_user()
        story_id = await make_story(owner)
        item_id = await queue.record_blocked(
            story_id=story_id,
            author_id=None,
            source="aiText",
            content="the narrator said something bad",
            verdict=Verdict("block", ["violence"]),
        )
        detail = await queue.get_item(item_id, viewer_id=None)
        assert detail.author_id is None
        assert detail.author_display_name is None
        assert detail.source == "aiText"

    async def test_unknown_source_is_a_programming_error(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        with pytest.raises(ValueError, match="source"):
            await queue.record_blocked(
                story_id=None,
                author_id=None,
                source="email",  # type: ignore[arg-type]
                content="x",
                verdict=BLOCK,
            )


class TestListing:
    async def test_list_filters_by_status_and_story_and_pages_in_order(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        owner = await make_user()
        story_id = await make_story(owner)
        other_story = await make_story(owner)
        ids = [
            await queue.record_blocked(
                story_id=story_id, author_id=owner.id, source="turn", content=f"t{i}", verdict=BLOCK
            )
            for i in range(5)
        ]
        await queue.record_blocked(
            story_id=other_story, author_id=owner.id, source="turn", content="o", verdict=BLOCK
        )
        seen: list[uuid.UUID] = []
        cursor = None
        pages = 0
        while True:
            page = await queue.list_items(story_id=story_id, limit=2, cursor=cursor)
            pages += 1
            seen += [item.id for item in page.items]
            assert all(item.story_id == story_id for item in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == ids
        assert pages == 3

        moderator = await make_user("moderator")
        await queue.decide(ids[0], "uphold", reviewer=moderator)
        pending = await queue.list_items(story_id=story_id, status="pending", limit=100)
        assert [item.id for item in pending.items] == ids[1:]
        upheld = await queue.list_items(story_id=story_id, status="upheld", limit=100)
        assert [item.id for item in upheld.items] == [ids[0]]
        everything = await queue.list_items(story_id=story_id, status=None, limit=100)
        assert len(everything.items) == 5

    async def test_paging_is_exact_when_items_share_a_timestamp(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        """The cursor breaks ties on the id: nothing skipped, nothing repeated."""
        owner = await make_user()
        story_id = await make_story(owner)
        ids = [
            await queue.record_blocked(
                story_id=story_id, author_id=owner.id, source="chat", content="x", verdict=BLOCK
            )
            for _ in range(4)
        ]
        same_moment = datetime.now(UTC).replace(microsecond=123456)
        await ModerationItem.update({ModerationItem.created_at: same_moment}).where(
            ModerationItem.story == story_id
        )
        seen: list[uuid.UUID] = []
        cursor = None
        while True:
            page = await queue.list_items(story_id=story_id, limit=1, cursor=cursor)
            seen += [item.id for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids)
        assert len(seen) == 4

    @pytest.mark.parametrize("cursor", ["not-a-cursor", "Zm9vfGJhcg", "!!!"])
    async def test_bad_cursor_is_invalid_input(
        self, db: Any, queue: ModerationQueue, cursor: str
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            await queue.list_items(cursor=cursor)
        assert caught.value.code == "invalidCursor"

    @pytest.mark.parametrize("limit", [0, 101, -1])
    async def test_limit_out_of_range(self, db: Any, queue: ModerationQueue, limit: int) -> None:
        with pytest.raises(InvalidInput):
            await queue.list_items(limit=limit)


class TestDecisions:
    async def test_uphold_records_who_when_and_an_audit_event(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        _, _, item_id = await _seed(queue)
        moderator = await make_user("moderator")
        decided = await queue.decide(
            item_id, "uphold", "clear grooming", reviewer=moderator, ip="1.2.3.4"
        )
        assert decided.status == "upheld"
        assert decided.decided_by == moderator.id
        assert decided.decided_at is not None
        assert [(h.decision, h.status, h.by, h.note) for h in decided.history] == [
            ("uphold", "upheld", str(moderator.id), "clear grooming")
        ]
        events = [
            e
            for e in await audit.events_for(subject(item_id))
            if e["action"] == "moderation.decided"
        ]
        assert len(events) == 1
        assert events[0]["actor_id"] == moderator.id
        assert events[0]["ip"] == "1.2.3.4"
        data = events[0]["data"]
        data = msgspec.json.decode(data) if isinstance(data, str) else data
        assert data == {
            "decision": "uphold",
            "status": "upheld",
            "by": str(moderator.id),
            "source": "chat",
            "categories": ["grooming", "personalData"],
            "note": "clear grooming",
        }

        with pytest.raises(Conflict) as caught:
            await queue.decide(item_id, "release", reviewer=moderator)
        assert caught.value.code == "alreadyDecided"

    async def test_release_does_not_touch_the_story_and_feeds_false_positives(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        from storyhub.stories.tables import ChatMessage, Segment

        _, story_id, item_id = await _seed(queue, "the goblins were stupid")
        moderator = await make_user("moderator")
        released = await queue.decide(item_id, "release", reviewer=moderator)
        assert released.status == "released"
        assert await Segment.count().where(Segment.story == story_id) == 0
        assert await ChatMessage.count().where(ChatMessage.story == story_id) == 0
        texts = {fp.item_id: fp for fp in await queue.false_positives()}
        assert texts[item_id].text == "the goblins were stupid"
        assert texts[item_id].categories == ["grooming", "personalData"]

    async def test_nobody_decides_about_their_own_content(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        moderator = await make_user("moderator")
        story_id = await make_story(moderator)
        item_id = await queue.record_blocked(
            story_id=story_id, author_id=moderator.id, source="turn", content="x", verdict=BLOCK
        )
        with pytest.raises(Forbidden) as caught:
            await queue.decide(item_id, "release", reviewer=moderator)
        assert caught.value.code == "ownContent"
        row = (
            await ModerationItem.select(ModerationItem.status)
            .where(ModerationItem.id == item_id)
            .first()
        )
        assert row == {"status": "pending"}

    async def test_escalated_items_are_for_admins(self, db: Any, queue: ModerationQueue) -> None:
        _, _, item_id = await _seed(queue)
        moderator = await make_user("moderator")
        other_moderator = await make_user("moderator")
        admin = await make_user("admin")
        escalated = await queue.decide(item_id, "escalate", "not sure", reviewer=moderator)
        assert escalated.status == "escalated"
        assert escalated.decided_at is None
        with pytest.raises(Forbidden) as caught:
            await queue.decide(item_id, "uphold", reviewer=other_moderator)
        assert caught.value.code == "escalatedToAdmin"
        with pytest.raises(Conflict):
            await queue.decide(item_id, "escalate", reviewer=admin)
        final = await queue.decide(item_id, "release", reviewer=admin)
        assert final.status == "released"
        assert final.decided_by == admin.id
        assert [h.decision for h in final.history] == ["escalate", "release"]

    async def test_bad_decisions_change_nothing(self, db: Any, queue: ModerationQueue) -> None:
        _, _, item_id = await _seed(queue)
        moderator = await make_user("moderator")
        with pytest.raises(InvalidInput):
            await queue.decide(item_id, "delete", reviewer=moderator)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput) as caught:
            await queue.decide(item_id, "uphold", "n" * 501, reviewer=moderator)
        assert caught.value.code == "noteTooLong"
        with pytest.raises(NotFound):
            await queue.decide(uuid.uuid4(), "uphold", reviewer=moderator)
        row = (
            await ModerationItem.select(ModerationItem.status)
            .where(ModerationItem.id == item_id)
            .first()
        )
        assert row == {"status": "pending"}
        assert [
            e
            for e in await audit.events_for(subject(item_id))
            if e["action"] == "moderation.decided"
        ] == []


class TestRetention:
    async def test_purge_erases_only_decided_items_older_than_the_period(
        self, db: Any, queue: ModerationQueue
    ) -> None:
        moderator = await make_user("moderator")
        _, _, old_upheld = await _seed(queue)
        _, _, old_released = await _seed(queue)
        _, _, recent = await _seed(queue)
        _, _, pending = await _seed(queue)
        _, _, escalated = await _seed(queue)
        for item_id, decision in [
            (old_upheld, "uphold"),
            (old_released, "release"),
            (recent, "uphold"),
            (escalated, "escalate"),
        ]:
            await queue.decide(item_id, decision, reviewer=moderator)  # type: ignore[arg-type]
        long_ago = datetime.now(UTC) - timedelta(days=40)
        await ModerationItem.update({ModerationItem.decided_at: long_ago}).where(
            ModerationItem.id.is_in([old_upheld, old_released])
        )
        # Escalated and pending items are old too, but still wait for a decision.
        await ModerationItem.update({ModerationItem.created_at: long_ago}).where(
            ModerationItem.id.is_in([pending, escalated])
        )

        erased = await queue.purge_decided(timedelta(days=30))
        assert erased >= 2  # other tests' old items may be erased as well

        def content_of(rows: list[dict[str, Any]], item_id: uuid.UUID) -> str:
            return next(r["content"] for r in rows if r["id"] == item_id)

        rows = await ModerationItem.select(ModerationItem.id, ModerationItem.content)
        assert content_of(rows, old_upheld) == ""
        assert content_of(rows, old_released) == ""
        for kept in (recent, pending, escalated):
            assert content_of(rows, kept) != ""
        detail = await queue.get_item(old_upheld, viewer_id=moderator.id)
        assert detail.content is None
        assert detail.content_erased is True
        assert detail.status == "upheld"  # the record of the decision stays
        assert old_released not in {fp.item_id for fp in await queue.false_positives()}
        assert await queue.purge_decided(timedelta(days=30)) == 0

    async def test_negative_period_is_refused(self, db: Any, queue: ModerationQueue) -> None:
        with pytest.raises(InvalidInput):
            await queue.purge_decided(timedelta(days=-1))
