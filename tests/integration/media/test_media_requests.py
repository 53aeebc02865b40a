"""Media requests on SQLite and PostgreSQL: consent decides the providers, quotas count a day.

The service is called directly with a recording ``enqueue`` (the HTTP glue
and the worker are covered end to end in ``tests/e2e/test_media_api.py``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import ConsentRecord, ParentalLink, User
from storyhub.jobs import service as jobs
from storyhub.jobs.schemas import BookTaskResult
from storyhub.jobs.tables import Job
from storyhub.lib.blobs import LocalBlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Forbidden, NotFound, RateLimited
from storyhub.media import service
from storyhub.media.generation import MediaRuntime, generate_asset
from storyhub.media.providers import ProviderFailed
from storyhub.media.quotas import QuotaLimits
from storyhub.media.registry import build_providers
from storyhub.media.tables import MediaAsset
from storyhub.safety.moderation import ModerationQueue
from storyhub.safety.pipeline import SafetyPipeline
from storyhub.safety.room_filter import SafetyContentFilter
from storyhub.settings import load_settings
from storyhub.stories.tables import Collaborator, Segment, Story
from tests.conftest import TEST_SECRET

ROOMY = QuotaLimits(per_user=100, per_story=100)


async def make_user(age_tier: str = "adult", scopes: list[str] | None = None) -> Principal:
    """An active user; ``scopes`` makes them a linked child with that consent."""
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Someone",
        birth_date_enc="x",
        age_tier=age_tier,
        status="active",
    )
    await user.save()
    if scopes is not None:
        await ParentalLink(child=user.id, parent_email_enc="x", status="active").save()
        await ConsentRecord(
            child=user.id, method="parentCreated", notice_version="1", scopes=json.dumps(scopes)
        ).save()
    return Principal(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role="user",
        age_tier=age_tier,  # type: ignore[arg-type]
        status="active",
        auth_epoch=0,
    )


async def make_story(owner: Principal, authors: list[Principal]) -> uuid.UUID:
    story = Story(
        title="Snow Day", premise="Friends build a castle.", creator=owner.id, age_rating="allAges"
    )
    await story.save()
    for seq, who in enumerate([owner, *authors], start=1):
        await Collaborator(story=story.id, user=who.id, role="author").save()
        await Segment(story=story.id, seq=seq, author=who.id, content=f"Part {seq}.").save()
    return story.id


class Recorder:
    def __init__(self) -> None:
        self.jobs: list[service.MediaJob] = []

    async def __call__(self, job: service.MediaJob) -> None:
        self.jobs.append(job)


async def job_count(story_id: uuid.UUID) -> int:
    return int(await Job.count().where(Job.story_id == story_id))


class TestConsent:
    async def test_the_authors_consent_decides_refusal_and_providers(self, db: Any) -> None:
        owner = await make_user()
        limited = await make_user("child", ["participate", "mediaGeneration"])
        story_id = await make_story(owner, [limited])
        enqueue = Recorder()

        for seq in (1, 2):
            await service.request_media(owner, story_id, seq, "image", ROOMY, enqueue)
        await service.request_media(owner, story_id, None, "cover", ROOMY, enqueue)
        decided = [(j.seq, j.kind, j.allow_remote, j.requested_by) for j in enqueue.jobs]
        assert decided == [
            (1, "image", True, owner.id),
            (2, "image", False, owner.id),  # the child's parent did not grant aiFeatures
            (None, "cover", True, owner.id),  # the cover is the creator's content
        ]
        kinds = await Job.select(Job.kind, Job.status).where(Job.story_id == story_id)
        assert sorted(r["kind"] for r in kinds) == ["media:cover", "media:image", "media:image"]

    async def test_without_media_consent_nothing_is_queued_or_written(self, db: Any) -> None:
        owner = await make_user()
        child = await make_user("child", ["participate"])
        story_id = await make_story(owner, [child])
        enqueue = Recorder()
        with pytest.raises(Forbidden) as refused:
            await service.request_media(owner, story_id, 2, "audio", ROOMY, enqueue)
        assert refused.value.code == "consentRequired"
        assert enqueue.jobs == []
        assert await job_count(story_id) == 0


class TestQuotaWindow:
    async def test_requests_older_than_a_day_stop_counting(self, db: Any) -> None:
        owner = await make_user()
        story_id = await make_story(owner, [])
        old = datetime.now(UTC) - timedelta(hours=25)
        recent = datetime.now(UTC) - timedelta(hours=23)
        for created in (old, old, recent):
            await Job(
                owner=owner.id, story_id=story_id, kind="media:image", created_at=created
            ).save()
        await Job(owner=owner.id, story_id=story_id, kind="book").save()  # not media
        limits = QuotaLimits(per_user=2, per_story=10)

        await service.request_media(owner, story_id, 1, "audio", limits, Recorder())
        with pytest.raises(RateLimited) as full:
            await service.request_media(owner, story_id, 1, "video", limits, Recorder())
        assert full.value.code == "quotaExceeded"
        assert full.value.extra["scope"] == "user"
        # The 23-hour-old request leaves the window in about an hour.
        assert 3500 < full.value.extra["retryAfter"] <= 3600

        usage = await service.usage(owner, limits)
        assert (usage.used, usage.remaining, usage.by_kind) == (2, 0, {"image": 1, "audio": 1})


class TestOfflineWhenNotAllowed:
    async def test_content_stays_offline_even_when_an_endpoint_serves_images(
        self, db: Any, tmp_path: Path
    ) -> None:
        calls: list[str] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            calls.append(request.url.path)
            return httpx2.Response(500, json={"error": {"message": "down"}})

        settings = load_settings(
            {
                "STORYHUB_DATA_DIR": str(tmp_path),
                "STORYHUB_OPENAI_BASE_URL": "http://ai.test/v1",
                "STORYHUB_OPENAI_API_KEY": "sk-test",
                "STORYHUB_AI_OPENAI_KINDS": "image",
            }
        )
        runtime = MediaRuntime(
            settings=settings,
            providers=build_providers(
                settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
            ),
            blobs=LocalBlobStore(tmp_path / "blobs"),
            # Offline: this test is about the media providers, not the moderation endpoint
            # (tests/integration/media/test_prompt_safety.py covers that).
            content_filter=SafetyContentFilter(
                SafetyPipeline(), ModerationQueue(FieldCipher(TEST_SECRET))
            ),
        )
        owner = await make_user()
        story_id = await make_story(owner, [])
        try:
            with pytest.raises(ProviderFailed):  # the endpoint really is used when allowed
                await generate_asset(runtime, story_id, 1, "image")
            assert calls
            calls.clear()
            asset = await generate_asset(
                runtime, story_id, 1, "image", allow_remote=False, requested_by=owner.id
            )
        finally:
            await runtime.aclose()
        assert calls == []
        assert asset.provider == "offline"
        row = await (
            MediaAsset.select(MediaAsset.requested_by, MediaAsset.generation_ms)
            .where(MediaAsset.id == asset.id)
            .first()
        )
        assert row is not None
        assert row["requested_by"] == owner.id
        assert row["generation_ms"] >= 0


class TestTasks:
    async def test_a_book_job_is_read_by_its_requester_only(self, db: Any) -> None:
        owner = await make_user()
        author = await make_user()
        story_id = await make_story(owner, [author])
        book_id = uuid.uuid4()
        stored = {"ok": True, "bookId": str(book_id), "sizeBytes": 10, "sha256": "ab"}
        job = Job(
            owner=author.id,
            story_id=story_id,
            kind="book",
            status="done",
            result=json.dumps(stored),
        )
        await job.save()

        task = await jobs.get_task(author, job.id)
        assert task.status == "done"
        assert task.result == BookTaskResult(
            book_id=book_id, size_bytes=10, sha256="ab", download_path=f"/books/{book_id}/download"
        )
        for other in (owner, await make_user()):
            with pytest.raises(NotFound) as hidden:
                await jobs.get_task(other, job.id)
            assert hidden.value.code == "taskNotFound"
        # Removed from the story, the requester no longer sees its work either.
        await Collaborator.delete().where(Collaborator.user == author.id)
        with pytest.raises(NotFound):
            await jobs.get_task(author, job.id)
