"""Image and video prompts pass the safety filter before a provider sees them or a row keeps them.

On SQLite and PostgreSQL with the offline providers and the real (offline)
pipeline. Titles and premises are written straight into the database here,
bypassing the API's own filter, as rows from before it existed would be.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from storyhub.accounts.tables import User
from storyhub.jobs.tables import Job
from storyhub.lib.broker import broker
from storyhub.lib.crypto import FieldCipher
from storyhub.media import tasks
from storyhub.media.generation import AssetRecord, MediaRuntime, generate_asset
from storyhub.media.tables import MediaAsset
from storyhub.safety.moderation import ModerationQueue
from storyhub.safety.pipeline import SafetyPipeline, build_pipeline
from storyhub.safety.room_filter import SafetyContentFilter
from storyhub.safety.tables import ModerationItem
from storyhub.sessions.hooks import ContentBlocked
from storyhub.settings import load_settings
from storyhub.stories.tables import Collaborator, Segment, Story
from tests.conftest import TEST_SECRET

EMAIL = "mia.rose@example.com"


@pytest.fixture(scope="module")
def content_filter() -> SafetyContentFilter:
    """What a worker builds on first use: the offline pipeline and the moderation queue."""
    return SafetyContentFilter(SafetyPipeline(), ModerationQueue(FieldCipher(TEST_SECRET)))


@pytest.fixture
async def runtime(
    tmp_path: Path, content_filter: SafetyContentFilter
) -> AsyncIterator[MediaRuntime]:
    settings = load_settings({"STORYHUB_DATA_DIR": str(tmp_path)})
    made = MediaRuntime.from_settings(settings)
    made.content_filter = content_filter
    yield made
    await made.aclose()


async def make_user(tier: str) -> uuid.UUID:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Ada",
        birth_date_enc="x",
        age_tier=tier,
        status="active",
    )
    await user.save()
    return user.id


async def make_story(
    *,
    title: str = "The Lighthouse",
    premise: str = "Two friends find a map.",
    rating: str = "allAges",
    segment: str = "Mia and her dog Pip walked to the harbour.",
    tiers: tuple[str, ...] = ("adult",),
) -> tuple[uuid.UUID, uuid.UUID]:
    """A story inserted directly (no filter) with one collaborator per tier; (story, owner)."""
    users = [await make_user(tier) for tier in tiers]
    story = Story(title=title, premise=premise, creator=users[0], age_rating=rating)
    await story.save()
    for user in users:
        await Collaborator(story=story.id, user=user, role="author").save()
    await Segment(story=story.id, seq=1, content=segment).save()
    return story.id, users[0]


def blob_files(runtime: MediaRuntime) -> list[Path]:
    root = runtime.settings.data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def moderation_rows(story_id: uuid.UUID) -> list[dict[str, Any]]:
    return await ModerationItem.select(
        ModerationItem.source,
        ModerationItem.author,
        ModerationItem.categories,
        ModerationItem.content,
    ).where(ModerationItem.story == story_id)


async def stored_prompt(asset: AssetRecord) -> str:
    row = await MediaAsset.select(MediaAsset.prompt).where(MediaAsset.id == asset.id).first()
    assert row is not None
    return str(row["prompt"])


class TestPromptFilter:
    async def test_blocked_cover_prompt_stores_nothing_and_is_queued(
        self, db: Any, runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story(title="How to kill yourself")
        with pytest.raises(ContentBlocked) as caught:
            await generate_asset(runtime, story_id, None, "cover")
        assert caught.value.code == "contentBlocked"
        assert caught.value.extra["categories"] == ["selfHarm"]
        assert await MediaAsset.count().where(MediaAsset.story == story_id) == 0
        assert blob_files(runtime) == []
        (item,) = await moderation_rows(story_id)
        assert item["source"] == "aiImagePrompt"
        assert item["author"] is None
        assert "selfHarm" in item["categories"]
        # Sealed for moderators: the blocked prompt is not stored in the clear.
        assert "kill" not in item["content"]

    async def test_personal_data_in_a_childs_story_is_sent_and_stored_redacted(
        self, db: Any, runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story(
            premise=f"Write to {EMAIL} for the map.",
            segment=f"Mia wrote to {EMAIL} and waited.",
            tiers=("adult", "child"),
        )
        image = await generate_asset(runtime, story_id, 1, "image")
        cover = await generate_asset(runtime, story_id, None, "cover")
        assert await stored_prompt(image) == "Mia wrote to [redacted] and waited."
        assert await stored_prompt(cover) == "The Lighthouse. Write to [redacted] for the map."
        assert await moderation_rows(story_id) == []

    async def test_the_youngest_collaborator_sets_the_level(
        self, db: Any, runtime: MediaRuntime
    ) -> None:
        segment = "The pirate shouted: fucking storms!"
        adults, _ = await make_story(rating="mature", segment=segment)
        asset = await generate_asset(runtime, adults, 1, "image")
        assert await stored_prompt(asset) == segment
        with_child, _ = await make_story(rating="mature", segment=segment, tiers=("adult", "child"))
        with pytest.raises(ContentBlocked):
            await generate_asset(runtime, with_child, 1, "image")
        with pytest.raises(ContentBlocked):  # the video's prompt is the same text
            await generate_asset(runtime, with_child, 1, "video")
        assert await MediaAsset.count().where(MediaAsset.story == with_child) == 0
        assert len(await moderation_rows(with_child)) == 2


async def test_moderation_endpoint_only_for_adult_rooms_that_allow_remote(
    db: Any, runtime: MediaRuntime
) -> None:
    """The second opinion fails closed when asked, and is not asked for a minor's room
    or a request whose content must stay in storyhub."""
    asked: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        asked.append(request.url.path)
        return httpx2.Response(500, json={"error": {"message": "down"}})

    settings = load_settings(
        {
            "STORYHUB_DATA_DIR": str(runtime.settings.data_dir),
            "STORYHUB_OPENAI_BASE_URL": "http://moderation.test/v1",
            "STORYHUB_OPENAI_API_KEY": "sk-test",
        }
    )
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    pipeline = build_pipeline(settings, http_client=client)
    runtime.content_filter = SafetyContentFilter(
        pipeline, ModerationQueue(FieldCipher(TEST_SECRET))
    )
    try:
        adults, _ = await make_story()
        with pytest.raises(ContentBlocked) as caught:
            await generate_asset(runtime, adults, 1, "image")
        assert caught.value.extra["categories"] == ["filterUnavailable"]
        assert asked == ["/v1/moderations"]
        asked.clear()
        kept_local = await generate_asset(runtime, adults, 1, "image", allow_remote=False)
        with_child, _ = await make_story(tiers=("adult", "child"))
        with_minor = await generate_asset(runtime, with_child, 1, "image")
    finally:
        await pipeline.aclose()
    assert asked == []
    assert (kept_local.provider, with_minor.provider) == ("offline", "offline")


async def test_the_filter_is_built_once_per_runtime(db: Any, tmp_path: Path) -> None:
    settings = load_settings({"STORYHUB_DATA_DIR": str(tmp_path)})
    runtime = MediaRuntime.from_settings(settings)
    try:
        first, second = await asyncio.gather(runtime.prompt_filter(), runtime.prompt_filter())
        assert first is second
        assert await runtime.prompt_filter() is first
        story_id, _ = await make_story(title="kill yourself")
        with pytest.raises(ContentBlocked):
            await generate_asset(runtime, story_id, None, "cover")
    finally:
        await runtime.aclose()
    assert runtime.content_filter is None


@pytest.fixture
async def task_runtime(runtime: MediaRuntime) -> AsyncIterator[MediaRuntime]:
    tasks.install_media_runtime(runtime)
    await broker.startup()
    yield runtime
    await broker.shutdown()
    tasks.install_media_runtime(None)


async def test_blocked_prompt_fails_the_task_at_once(db: Any, task_runtime: MediaRuntime) -> None:
    story_id, owner = await make_story(premise="They buy cocaine at the harbour.")
    job = Job(owner=owner, story_id=story_id, kind="media")
    await job.save()
    sent = await tasks.generate_media.kiq(str(story_id), None, "cover", job_id=str(job.id))
    outcome = (await sent.wait_result(timeout=60)).return_value
    assert outcome["ok"] is False
    assert outcome["errorCode"] == "contentBlocked"
    row = await Job.select(Job.status, Job.error).where(Job.id == job.id).first()
    assert row is not None
    assert row["status"] == "failed"
    assert "safety filter" in row["error"]
    assert len(await moderation_rows(story_id)) == 1  # one attempt: no retries
    assert blob_files(task_runtime) == []
