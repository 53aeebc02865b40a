"""Media generation and its TaskIQ tasks on SQLite and PostgreSQL, offline providers.

One asset per (story, seq, kind) however often the work runs or races; the
blob store keeps exactly the blobs the rows point at; jobs follow the task.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from storyhub.accounts.tables import User
from storyhub.jobs.tables import Job
from storyhub.lib.broker import broker
from storyhub.lib.errors import InvalidInput, NotFound
from storyhub.lib.retries import BackoffRetryMiddleware
from storyhub.media import tasks
from storyhub.media.generation import (
    AssetRecord,
    MediaRuntime,
    caption_for,
    find_asset,
    generate_asset,
    write_ai_segment,
)
from storyhub.media.links import link_asset, media_path
from storyhub.media.providers import ProviderFailed
from storyhub.media.tables import MediaAsset
from storyhub.media.tools import probe_file
from storyhub.sessions import persistence
from storyhub.settings import load_settings
from storyhub.stories.tables import Segment, Story

SEGMENTS = (
    "Mia and her dog Pip lived near a snowy forest.",
    "One night Mia heard a whisper in the trees. Pip barked at the moon!",
)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[MediaRuntime]:
    settings = load_settings({"STORYHUB_DATA_DIR": str(tmp_path)})
    made = MediaRuntime.from_settings(settings)
    yield made
    await made.aclose()


async def make_story(segments: tuple[str, ...] = SEGMENTS) -> tuple[uuid.UUID, uuid.UUID]:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Ada",
        birth_date_enc="x",
        age_tier="adult",
        status="active",
    )
    await user.save()
    story = Story(
        title="The Whispering Forest",
        premise="Two friends follow a whisper into a forest.",
        creator=user.id,
        age_rating="allAges",
    )
    await story.save()
    for seq, text in enumerate(segments, start=1):
        await Segment(story=story.id, seq=seq, content=text).save()
    return story.id, user.id


def blob_files(runtime: MediaRuntime) -> list[Path]:
    root = runtime.settings.data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def asset_count(story_id: uuid.UUID) -> int:
    return await MediaAsset.count().where(MediaAsset.story == story_id)


class TestGenerateAsset:
    async def test_image_is_stored_once_and_recorded_with_usage(
        self, db: Any, runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story()
        asset = await generate_asset(runtime, story_id, 1, "image")
        assert (asset.kind, asset.seq, asset.content_type) == ("image", 1, "image/png")
        assert (asset.provider, asset.model) == ("offline", "storyhub-illustrator-1")
        assert asset.blob_key.startswith(f"stories/{story_id}/1/image-")
        with Image.open(io.BytesIO(await runtime.blobs.get(asset.blob_key))) as image:
            assert image.size == (1024, 576)
        row = await MediaAsset.select(MediaAsset.prompt).where(MediaAsset.id == asset.id).first()
        assert row is not None
        assert row["prompt"] == SEGMENTS[0]
        again = await generate_asset(runtime, story_id, 1, "image")
        assert again == asset
        assert await asset_count(story_id) == 1
        assert len(blob_files(runtime)) == 1

    async def test_concurrent_runs_leave_one_asset_and_one_blob(
        self, db: Any, runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story()
        results = await asyncio.gather(
            *(generate_asset(runtime, story_id, 2, "audio") for _ in range(3))
        )
        assert len({r.id for r in results}) == 1
        assert await asset_count(story_id) == 1
        files = blob_files(runtime)
        assert [f.name for f in files] == [results[0].blob_key.rsplit("/", 1)[1]]

    async def test_concurrent_covers_converge_on_one(self, db: Any, runtime: MediaRuntime) -> None:
        story_id, _ = await make_story()
        results = await asyncio.gather(
            *(generate_asset(runtime, story_id, None, "cover") for _ in range(3))
        )
        assert len({r.id for r in results}) == 1
        assert results[0].seq is None
        assert results[0].blob_key.startswith(f"stories/{story_id}/cover/cover-")
        assert await asset_count(story_id) == 1
        assert len(blob_files(runtime)) == 1
        with Image.open(io.BytesIO(await runtime.blobs.get(results[0].blob_key))) as image:
            assert image.size == (1024, 1536)

    async def test_video_reuses_and_creates_the_segment_image_and_audio(
        self, db: Any, runtime: MediaRuntime, tmp_path: Path
    ) -> None:
        story_id, _ = await make_story()
        image = await generate_asset(runtime, story_id, 1, "image")
        video = await generate_asset(runtime, story_id, 1, "video")
        audio = await find_asset(story_id, 1, "audio")
        assert audio is not None
        assert await find_asset(story_id, 1, "image") == image
        path = tmp_path / "clip.mp4"
        path.write_bytes(await runtime.blobs.get(video.blob_key))
        info = await probe_file(runtime.providers.tools, str(path))
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")
        assert audio.duration_seconds is not None
        assert info.duration_seconds == pytest.approx(audio.duration_seconds, abs=0.5)
        assert video.duration_seconds == pytest.approx(info.duration_seconds, abs=0.01)
        assert await asset_count(story_id) == 3

    @pytest.mark.parametrize(
        ("seq", "kind", "code"),
        [
            (1, "music", "invalidMediaKind"),
            (1, "cover", "invalidMediaTarget"),
            (None, "image", "invalidMediaTarget"),
        ],
    )
    async def test_bad_targets_are_invalid_input(
        self, db: Any, runtime: MediaRuntime, seq: int | None, kind: str, code: str
    ) -> None:
        story_id, _ = await make_story()
        with pytest.raises(InvalidInput) as caught:
            await generate_asset(runtime, story_id, seq, kind)
        assert caught.value.code == code

    async def test_missing_story_or_segment_is_not_found(
        self, db: Any, runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story()
        with pytest.raises(NotFound) as caught:
            await generate_asset(runtime, story_id, 9, "image")
        assert caught.value.code == "segmentNotFound"
        with pytest.raises(NotFound) as caught:
            await generate_asset(runtime, uuid.uuid4(), 1, "image")
        assert caught.value.code == "storyNotFound"
        assert blob_files(runtime) == []


class TestRewrittenSegments:
    async def test_a_rewritten_ai_segment_gets_media_of_its_own(
        self, db: Any, runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story()  # seq 2 has no author: the AI narrator's
        old = await generate_asset(runtime, story_id, 2, "image")
        assert old.revision == 0
        assert await link_asset(old)

        record = await persistence.revise_ai_segment(
            story_id, seq=2, content="A fox led them home instead.", turn_state={}
        )
        assert record is not None
        assert (record.revision, record.image_url) == (1, None)
        row = await Segment.select(Segment.image_url, Segment.revision).where(
            (Segment.story == story_id) & (Segment.seq == 2)
        )
        assert row == [{"image_url": None, "revision": 1}]

        # The old picture is not the new text's: not found, not linked again.
        assert await find_asset(story_id, 2, "image") is None
        assert await find_asset(story_id, 2, "image", revision=0) == old
        assert not await link_asset(old)
        assert await Segment.select(Segment.image_url).where(
            (Segment.story == story_id) & (Segment.seq == 2)
        ) == [{"image_url": None}]

        new = await generate_asset(runtime, story_id, 2, "image")
        assert (new.revision, new.seq) == (1, 2)
        assert new.id != old.id
        prompt = await MediaAsset.select(MediaAsset.prompt).where(MediaAsset.id == new.id)
        assert prompt == [{"prompt": "A fox led them home instead."}]
        assert await link_asset(new)
        assert await Segment.select(Segment.image_url).where(
            (Segment.story == story_id) & (Segment.seq == 2)
        ) == [{"image_url": media_path(new.id)}]
        # Both files stay, each named by a row (the story's deletion finds both).
        assert await asset_count(story_id) == 2
        assert len(blob_files(runtime)) == 2
        assert await generate_asset(runtime, story_id, 2, "image") == new


class TestNarratorText:
    async def test_reads_premise_and_last_segments(self, db: Any, runtime: MediaRuntime) -> None:
        story_id, _ = await make_story()
        result = await write_ai_segment(runtime, story_id)
        assert result.model == "storyhub-narrator-1"
        assert "Mia" in result.text
        assert result.text == (await write_ai_segment(runtime, story_id)).text


def test_caption_is_the_first_sentence_shortened() -> None:
    assert caption_for("One. Two.") == "One."
    assert len(caption_for("x" * 300)) == 120


@pytest.fixture
async def task_runtime(runtime: MediaRuntime) -> AsyncIterator[list[AssetRecord]]:
    ready: list[AssetRecord] = []

    async def on_ready(asset: AssetRecord) -> None:
        ready.append(asset)

    tasks.install_media_runtime(runtime, on_ready)
    await broker.startup()
    yield ready
    await broker.shutdown()
    tasks.install_media_runtime(None)


async def make_job(owner: uuid.UUID, story_id: uuid.UUID) -> uuid.UUID:
    job = Job(owner=owner, story_id=story_id, kind="media")
    await job.save()
    return job.id


class TestTasks:
    async def test_media_task_stores_asset_updates_job_and_notifies(
        self, db: Any, task_runtime: list[AssetRecord]
    ) -> None:
        story_id, owner = await make_story()
        job_id = await make_job(owner, story_id)
        sent = await tasks.generate_media.kiq(str(story_id), 1, "audio", job_id=str(job_id))
        result = await sent.wait_result(timeout=60)
        assert result.error is None
        outcome = result.return_value
        assert outcome["ok"] is True
        assert outcome["asset"]["kind"] == "audio"
        assert outcome["provider"] == "offline"
        job = await Job.select(Job.status, Job.result, Job.error).where(Job.id == job_id).first()
        assert job is not None
        assert job["status"] == "done"
        assert '"ok":true' in job["result"]
        assert [a.kind for a in task_runtime] == ["audio"]

    async def test_media_for_text_rewritten_meanwhile_is_not_linked_and_fails(
        self, db: Any, task_runtime: list[AssetRecord], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        story_id, owner = await make_story()
        job_id = await make_job(owner, story_id)
        real = tasks.generate_asset

        async def rewritten_while_drawing(*args: Any, **kwargs: Any) -> AssetRecord:
            made = await real(*args, **kwargs)
            await persistence.revise_ai_segment(
                story_id, seq=2, content="Another telling.", turn_state={}
            )
            return made

        monkeypatch.setattr(tasks, "generate_asset", rewritten_while_drawing)
        sent = await tasks.generate_media.kiq(str(story_id), 2, "image", job_id=str(job_id))
        outcome = (await sent.wait_result(timeout=60)).return_value
        assert outcome["ok"] is False
        assert outcome["errorCode"] == "segmentRevised"
        job = await Job.select(Job.status).where(Job.id == job_id).first()
        assert job == {"status": "failed"}
        assert task_runtime == []  # no mediaReady for the old text
        assert await Segment.select(Segment.image_url).where(
            (Segment.story == story_id) & (Segment.seq == 2)
        ) == [{"image_url": None}]

    async def test_redelivered_task_returns_the_same_asset(
        self, db: Any, task_runtime: list[AssetRecord]
    ) -> None:
        story_id, _ = await make_story()
        first = await tasks.generate_media.kiq(str(story_id), 2, "image")
        second = await tasks.generate_media.kiq(str(story_id), 2, "image")
        a = (await first.wait_result(timeout=60)).return_value
        b = (await second.wait_result(timeout=60)).return_value
        assert a["asset"]["id"] == b["asset"]["id"]
        assert await asset_count(story_id) == 1

    async def test_unfixable_failure_fails_the_job_at_once(
        self, db: Any, task_runtime: list[AssetRecord]
    ) -> None:
        story_id, owner = await make_story()
        job_id = await make_job(owner, story_id)
        sent = await tasks.generate_media.kiq(str(story_id), 42, "image", job_id=str(job_id))
        outcome = (await sent.wait_result(timeout=60)).return_value
        assert outcome["ok"] is False
        assert outcome["errorCode"] == "segmentNotFound"
        job = await Job.select(Job.status, Job.error).where(Job.id == job_id).first()
        assert job is not None
        assert job["status"] == "failed"
        assert "Segment 42" in job["error"]

    async def test_narrator_task_returns_text(
        self, db: Any, task_runtime: list[AssetRecord]
    ) -> None:
        story_id, _ = await make_story()
        sent = await tasks.write_narrator_turn.kiq(str(story_id))
        outcome = (await sent.wait_result(timeout=60)).return_value
        assert outcome["ok"] is True
        assert outcome["model"] == "storyhub-narrator-1"
        assert outcome["text"]


class FlakyImages:
    """An image provider that fails ``failures`` times, then draws."""

    name = "flaky"
    model = "flaky-1"

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.calls = 0

    async def illustrate(self, request: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ProviderFailed("the image service hiccuped")
        return await self.inner.illustrate(request)


@pytest.fixture
def retrying(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The broker's own retry middleware, without its waits (tests/unit/lib covers those)."""
    (middleware,) = [m for m in broker.middlewares if isinstance(m, BackoffRetryMiddleware)]
    monkeypatch.setattr(middleware, "default_delay", 0.0)
    yield


@pytest.fixture
def no_retries() -> Iterator[None]:
    """A broker without any retry middleware: a failure must end the job at once."""
    kept = list(broker.middlewares)
    broker.middlewares[:] = [m for m in kept if not isinstance(m, BackoffRetryMiddleware)]
    yield
    broker.middlewares[:] = kept


class TestRetries:
    async def test_failed_runs_are_retried_and_the_job_ends_done(
        self, db: Any, task_runtime: list[AssetRecord], runtime: MediaRuntime, retrying: None
    ) -> None:
        flaky = FlakyImages(runtime.providers.image, failures=2)
        runtime.providers.image = flaky
        story_id, owner = await make_story()
        job_id = await make_job(owner, story_id)
        sent = await tasks.generate_media.kiq(str(story_id), 1, "image", job_id=str(job_id))
        outcome = (await sent.wait_result(timeout=60)).return_value
        assert outcome["ok"] is True
        assert flaky.calls == 3
        job = await Job.select(Job.status).where(Job.id == job_id).first()
        assert job == {"status": "done"}

    async def test_last_failure_fails_the_job_with_the_reason(
        self, db: Any, task_runtime: list[AssetRecord], runtime: MediaRuntime, retrying: None
    ) -> None:
        flaky = FlakyImages(runtime.providers.image, failures=10)
        runtime.providers.image = flaky
        story_id, owner = await make_story()
        job_id = await make_job(owner, story_id)
        sent = await tasks.generate_media.kiq(str(story_id), 1, "image", job_id=str(job_id))
        outcome = (await sent.wait_result(timeout=60)).return_value
        assert outcome == {
            "ok": False,
            "asset": None,
            "text": None,
            "provider": None,
            "model": None,
            "errorCode": "providerFailed",
            "error": "the image service hiccuped",
        }
        assert flaky.calls == 3
        job = await Job.select(Job.status, Job.error).where(Job.id == job_id).first()
        assert job == {"status": "failed", "error": "the image service hiccuped"}

    async def test_without_a_retry_middleware_a_failure_is_final(
        self, db: Any, task_runtime: list[AssetRecord], runtime: MediaRuntime, no_retries: None
    ) -> None:
        flaky = FlakyImages(runtime.providers.image, failures=1)
        runtime.providers.image = flaky
        story_id, owner = await make_story()
        job_id = await make_job(owner, story_id)
        sent = await tasks.generate_media.kiq(str(story_id), 1, "image", job_id=str(job_id))
        outcome = (await sent.wait_result(timeout=60)).return_value
        assert outcome["errorCode"] == "providerFailed"
        assert flaky.calls == 1
        job = await Job.select(Job.status).where(Job.id == job_id).first()
        assert job == {"status": "failed"}
