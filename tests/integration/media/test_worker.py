"""Services mode: a real ``storyhub worker`` process makes media from a Redis queue.

PostgreSQL, a private Redis, and a moto S3 server; the test process only
enqueues (through its own ``RedisStreamBroker``) and checks what the worker
stored.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from taskiq.kicker import AsyncKicker

from storyhub.accounts.tables import User
from storyhub.lib import database
from storyhub.lib.blobs import S3BlobStore
from storyhub.lib.broker import build_broker
from storyhub.media.tables import MediaAsset
from storyhub.media.tools import MediaTools, probe_file
from storyhub.piccolo_app import TABLES
from storyhub.settings import Settings, load_settings
from storyhub.stories.tables import Segment, Story
from tests.conftest import base_env, fresh_pg_database
from tests.support.worker import WorkerProcess


@pytest.fixture(scope="module")
def worker_env(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, s3_endpoint: str
) -> dict[str, str]:
    env = base_env(tmp_path_factory.mktemp("media-worker"))
    env.update(
        {
            "STORYHUB_DATABASE_URL": fresh_pg_database("media_worker"),
            # A Redis database of its own: no other test's queued tasks reach this worker.
            "STORYHUB_VALKEY_URL": redis_url.rsplit("/", 1)[0] + "/4",
            "STORYHUB_S3_BUCKET": f"media-{uuid.uuid4().hex[:8]}",
            "STORYHUB_S3_ENDPOINT_URL": s3_endpoint,
            "STORYHUB_S3_REGION": "eu-west-1",
            "STORYHUB_S3_ACCESS_KEY_ID": "test",
            "STORYHUB_S3_SECRET_ACCESS_KEY": "test",
        }
    )
    return env


@pytest.fixture(scope="module")
def worker_settings(worker_env: dict[str, str]) -> Settings:
    return load_settings(worker_env)


@pytest.fixture
async def storage(worker_settings: Settings) -> AsyncIterator[S3BlobStore]:
    assert worker_settings.s3 is not None
    store = S3BlobStore(worker_settings.s3)
    await store.ensure_bucket()
    yield store
    await store.aclose()


@pytest.fixture
async def database_ready(worker_settings: Settings) -> AsyncIterator[None]:
    engine = database.build_engine(worker_settings.database_url)
    await database.migrate(engine, TABLES)
    await database.open_pool(engine, max_size=2)
    database.install_engine(engine, TABLES)
    yield
    await database.close_pool(engine)


@pytest.fixture
def worker(
    worker_env: dict[str, str], tmp_path: Path, storage: S3BlobStore, database_ready: None
) -> Iterator[WorkerProcess]:
    process = WorkerProcess(worker_env, tmp_path / "worker.log").start()
    yield process
    process.stop()


async def seed_story() -> uuid.UUID:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Ada",
        birth_date_enc="x",
        age_tier="adult",
    )
    await user.save()
    story = Story(
        title="Snow Day",
        premise="Two friends build a snow castle.",
        creator=user.id,
        age_rating="allAges",
    )
    await story.save()
    await Segment(
        story=story.id, seq=1, content="Leo and Ada built a castle of snow in the village."
    ).save()
    return story.id


async def test_worker_process_makes_a_video_into_s3(
    worker: WorkerProcess,
    worker_settings: Settings,
    storage: S3BlobStore,
    tmp_path: Path,
) -> None:
    story_id = await seed_story()
    broker = build_broker(worker_settings)
    await broker.startup()
    try:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(
            task_name="storyhub.media.generate", broker=broker, labels={}
        )
        task = await kicker.kiq(str(story_id), 1, "video")
        result = await task.wait_result(timeout=120)
    finally:
        await broker.shutdown()
    assert worker.running, "the worker died"
    assert result.error is None
    outcome = result.return_value
    assert outcome["ok"] is True, outcome
    key = outcome["asset"]["blobKey"]
    assert key.startswith(f"stories/{story_id}/1/video-")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(await storage.get(key))
    info = await probe_file(MediaTools(), str(clip))
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    kinds = await MediaAsset.select(MediaAsset.kind, MediaAsset.provider).where(
        MediaAsset.story == story_id
    )
    assert sorted(row["kind"] for row in kinds) == ["audio", "image", "video"]
    assert {row["provider"] for row in kinds} == {"offline"}
