"""The schema holds its invariants on both engines."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from storyhub.accounts.tables import User
from storyhub.lib.errors import is_unique_violation
from storyhub.stories.tables import Collaborator, Segment, Story


async def _story() -> Any:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Ada",
        birth_date_enc="x",
        age_tier="adult",
    )
    await user.save()
    story = Story(title="T", premise="P", creator=user.id, age_rating="allAges")
    await story.save()
    return user, story


class TestUniqueConstraints:
    async def test_story_and_seq_are_unique(self, db: Any) -> None:
        _, story = await _story()
        await Segment(story=story.id, seq=1, content="one").save()
        with pytest.raises(Exception) as caught:
            await Segment(story=story.id, seq=1, content="again").save()
        assert is_unique_violation(caught.value)
        assert await Segment.count().where(Segment.story == story.id) == 1

    async def test_story_and_client_msg_id_are_unique(self, db: Any) -> None:
        _, story = await _story()
        await Segment(story=story.id, seq=1, content="one", client_msg_id="m1").save()
        with pytest.raises(Exception) as caught:
            await Segment(story=story.id, seq=2, content="two", client_msg_id="m1").save()
        assert is_unique_violation(caught.value)

    async def test_ai_segments_without_client_id_do_not_collide(self, db: Any) -> None:
        _, story = await _story()
        await Segment(story=story.id, seq=1, content="ai one").save()
        await Segment(story=story.id, seq=2, content="ai two").save()
        assert await Segment.count().where(Segment.story == story.id) == 2

    async def test_a_user_collaborates_on_a_story_once(self, db: Any) -> None:
        user, story = await _story()
        await Collaborator(story=story.id, user=user.id, role="author").save()
        with pytest.raises(Exception) as caught:
            await Collaborator(story=story.id, user=user.id, role="viewer").save()
        assert is_unique_violation(caught.value)

    async def test_same_seq_in_different_stories_is_fine(self, db: Any) -> None:
        _, first = await _story()
        _, second = await _story()
        await Segment(story=first.id, seq=1, content="a").save()
        await Segment(story=second.id, seq=1, content="b").save()
