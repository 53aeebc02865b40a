"""The stories service on SQLite and PostgreSQL: authorization, paging, invariants."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from storyhub.accounts.principal import AgeTier, Principal
from storyhub.accounts.tables import User
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict, Forbidden, InvalidInput, NotFound
from storyhub.safety.moderation import ModerationQueue
from storyhub.safety.pipeline import SafetyPipeline
from storyhub.safety.room_filter import SafetyContentFilter
from storyhub.stories import collaborators, service, timeline
from storyhub.stories.schemas import CollaboratorInvite, StoryCreate, StoryPatch
from storyhub.stories.tables import ChatMessage, Collaborator, Segment, Story
from tests.conftest import TEST_SECRET

FILTER = SafetyContentFilter(SafetyPipeline(), ModerationQueue(FieldCipher(TEST_SECRET)))
"""The filter the app builds (offline): titles and premises pass it."""


async def make_user(tier: AgeTier = "adult", name: str = "Ada") -> Principal:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name=name,
        birth_date_enc="x",
        age_tier=tier,
        status="active",
    )
    await user.save()
    return Principal(
        id=user.id,
        email=user.email,
        display_name=name,
        role="user",
        age_tier=tier,
        status="active",
        auth_epoch=0,
    )


def create(rating: str = "allAges", **fields: Any) -> StoryCreate:
    body = {"title": "T", "premise": "P", "ageRating": rating, **fields}
    return msgspec.convert(body, StoryCreate)


def invite_body(user: Principal, role: str = "author") -> CollaboratorInvite:
    return CollaboratorInvite(role=role, user_id=user.id)  # type: ignore[arg-type]


class TestStories:
    async def test_create_writes_the_story_and_the_owner_row(self, db: Any) -> None:
        owner = await make_user()
        story = await service.create_story(owner, create("teen", turnSeconds=30), FILTER)
        assert story.role == "owner"
        assert story.turn_seconds == 30
        row = await Story.select().where(Story.id == story.id).first()
        assert row is not None
        assert msgspec.json.decode(row["settings"]) == {
            "aiNarrator": False,
            "turnSeconds": 30,
            "maxSegmentLength": 1000,
        }
        members = await Collaborator.select(Collaborator.user, Collaborator.role).where(
            Collaborator.story == story.id
        )
        assert members == [{"user": owner.id, "role": "author"}]

    async def test_a_refused_create_writes_nothing(self, db: Any) -> None:
        teen = await make_user("teen")
        with pytest.raises(Forbidden) as caught:
            await service.create_story(teen, create("mature"), FILTER)
        assert caught.value.code == "ageRestricted"
        with pytest.raises(InvalidInput):
            await service.create_story(teen, create(title="   "), FILTER)
        assert await Story.count().where(Story.creator == teen.id) == 0

    async def test_get_is_not_found_for_strangers(self, db: Any) -> None:
        owner, stranger = await make_user(), await make_user()
        story = await service.create_story(owner, create(), FILTER)
        with pytest.raises(NotFound) as caught:
            await service.get_story(stranger, story.id)
        assert caught.value.code == "storyNotFound"

    async def test_patch_merges_settings_and_keeps_the_rest(self, db: Any) -> None:
        owner = await make_user()
        story = await service.create_story(
            owner, create(aiNarrator=True, maxSegmentLength=500), FILTER
        )
        patched = await service.update_story(owner, story.id, StoryPatch(turn_seconds=90), FILTER)
        assert (patched.turn_seconds, patched.ai_narrator, patched.max_segment_length) == (
            90,
            True,
            500,
        )
        assert patched.updated_at >= story.updated_at

    async def test_an_owner_cannot_rate_above_their_own_tier(self, db: Any) -> None:
        teen = await make_user("teen")
        story = await service.create_story(teen, create("teen"), FILTER)
        with pytest.raises(Forbidden) as caught:
            await service.update_story(
                teen, story.id, StoryPatch(age_rating="mature", title="X"), FILTER
            )
        assert caught.value.code == "ageRestricted"
        after = await service.get_story(teen, story.id)
        assert (after.age_rating, after.title) == ("teen", "T")

    async def test_an_empty_patch_writes_nothing(self, db: Any) -> None:
        owner = await make_user()
        story = await service.create_story(owner, create(), FILTER)
        same = await service.update_story(owner, story.id, StoryPatch(age_rating="allAges"), FILTER)
        assert same == story

    async def test_rating_cannot_rise_above_a_collaborator(self, db: Any) -> None:
        owner, child = await make_user(), await make_user("child")
        story = await service.create_story(owner, create(), FILTER)
        await collaborators.invite_collaborator(owner, story.id, invite_body(child))
        with pytest.raises(Conflict):
            await service.update_story(owner, story.id, StoryPatch(age_rating="teen"), FILTER)
        assert (await service.get_story(owner, story.id)).age_rating == "allAges"

    async def test_invite_and_rating_change_race_never_strand_a_child(self, db: Any) -> None:
        """Whatever order they commit in, a child never ends up in a teen story."""
        owner = await make_user()
        for _ in range(5):
            child = await make_user("child")
            story = await service.create_story(owner, create(), FILTER)
            results = await asyncio.gather(
                collaborators.invite_collaborator(owner, story.id, invite_body(child)),
                service.update_story(owner, story.id, StoryPatch(age_rating="teen"), FILTER),
                return_exceptions=True,
            )
            rating = (await service.get_story(owner, story.id)).age_rating
            joined = await Collaborator.exists().where(
                (Collaborator.story == story.id) & (Collaborator.user == child.id)
            )
            assert not (rating == "teen" and joined), results
            assert sum(isinstance(r, Exception) for r in results) == 1, results


class TestLibrary:
    async def test_paging_status_and_age_filter(self, db: Any) -> None:
        adult, teen = await make_user(), await make_user("teen")
        mine = [await service.create_story(teen, create("teen"), FILTER) for _ in range(3)]
        mature = await service.create_story(adult, create("mature"), FILTER)
        shared = await service.create_story(adult, create("allAges"), FILTER)
        await collaborators.invite_collaborator(adult, shared.id, invite_body(teen, "viewer"))
        # A membership the API would refuse today (e.g. from before a rating change).
        await Collaborator(story=mature.id, user=teen.id, role="viewer").save()
        await Story.update({Story.status: "completed"}).where(Story.id == mine[0].id)

        seen: list[uuid.UUID] = []
        cursor: str | None = None
        while True:
            page = await service.list_library(teen, limit=2, cursor=cursor, status=None)
            seen += [s.id for s in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [shared.id, mine[2].id, mine[1].id, mine[0].id]
        completed = await service.list_library(teen, limit=10, cursor=None, status="completed")
        assert [s.id for s in completed.items] == [mine[0].id]
        everything = await service.list_library(teen, limit=10, cursor=None, status=None)
        roles = {s.id: s.role for s in everything.items}
        assert roles[shared.id] == "viewer"
        assert roles[mine[1].id] == "owner"

    async def test_a_foreign_cursor_is_refused(self, db: Any) -> None:
        user = await make_user()
        with pytest.raises(InvalidInput) as caught:
            await service.list_library(user, limit=5, cursor="-1", status=None)
        assert caught.value.code == "invalidCursor"


class TestCollaborators:
    async def test_invite_by_email_matches_case_insensitively(self, db: Any) -> None:
        owner, friend = await make_user(), await make_user(name="Fay")
        story = await service.create_story(owner, create(), FILTER)
        added = await collaborators.invite_collaborator(
            owner, story.id, CollaboratorInvite(role="viewer", email=friend.email.upper())
        )
        assert (added.user_id, added.display_name, added.role) == (friend.id, "Fay", "viewer")

    async def test_duplicate_invite_conflicts_and_keeps_one_row(self, db: Any) -> None:
        owner, friend = await make_user(), await make_user()
        story = await service.create_story(owner, create(), FILTER)
        await collaborators.invite_collaborator(owner, story.id, invite_body(friend))
        with pytest.raises(Conflict) as caught:
            await collaborators.invite_collaborator(owner, story.id, invite_body(friend, "viewer"))
        assert caught.value.code == "alreadyCollaborator"
        rows = await Collaborator.select(Collaborator.role).where(
            (Collaborator.story == story.id) & (Collaborator.user == friend.id)
        )
        assert rows == [{"role": "author"}]

    async def test_role_change_and_removal(self, db: Any) -> None:
        owner, friend = await make_user(), await make_user()
        story = await service.create_story(owner, create(), FILTER)
        await collaborators.invite_collaborator(owner, story.id, invite_body(friend, "viewer"))
        changed = await collaborators.change_role(owner, story.id, friend.id, "author")
        assert changed.role == "author"
        assert (await service.get_story(friend, story.id)).role == "author"
        await collaborators.remove_collaborator(friend, story.id, friend.id)
        with pytest.raises(NotFound):
            await service.get_story(friend, story.id)
        with pytest.raises(Forbidden):
            await collaborators.remove_collaborator(owner, story.id, owner.id)
        listed = await collaborators.list_collaborators(owner, story.id)
        assert [(c.user_id, c.role) for c in listed] == [(owner.id, "owner")]


class TestSegmentsAndChat:
    async def test_segments_page_in_seq_order_with_media(self, db: Any) -> None:
        owner = await make_user(name="Olive")
        story = await service.create_story(owner, create(), FILTER)
        now = datetime.now(UTC)
        # Inserted out of order: the answer must follow seq, not insertion.
        for seq in (3, 1, 5, 2, 4):
            await Segment(
                story=story.id,
                seq=seq,
                author=None if seq == 2 else owner.id,
                content=f"s{seq}",
                visual_effects={"cue": seq} if seq == 2 else None,
                created_at=now + timedelta(seconds=seq),
            ).save()
        page = await timeline.list_segments(owner, story.id, after_seq=0, limit=2)
        assert [s.seq for s in page.items] == [1, 2]
        assert page.next_after_seq == 2
        ai = page.items[1]
        assert (ai.author_id, ai.author_name, ai.visual_effects) == (None, "Narrator", {"cue": 2})
        assert page.items[0].author_name == "Olive"
        rest = await timeline.list_segments(owner, story.id, after_seq=2, limit=10)
        assert [s.seq for s in rest.items] == [3, 4, 5]
        assert rest.next_after_seq is None

    async def test_chat_pages_by_id(self, db: Any) -> None:
        owner = await make_user()
        story = await service.create_story(owner, create(), FILTER)
        for n in range(3):
            await ChatMessage(story=story.id, author=owner.id, content=f"c{n}").save()
        page = await timeline.list_chat(owner, story.id, after_id=0, limit=2)
        assert [m.content for m in page.items] == ["c0", "c1"]
        assert page.next_after_id is not None
        rest = await timeline.list_chat(owner, story.id, after_id=page.next_after_id, limit=2)
        assert [m.content for m in rest.items] == ["c2"]
