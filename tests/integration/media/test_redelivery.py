"""``kill -9`` of a worker in the middle of a task: another worker finishes it, once.

Real ``storyhub worker`` processes, PostgreSQL, the session's Redis and moto
S3. The redelivery time is shortened for the test (the task time limits with
it, as settings require), so the message the dead worker never acknowledged
reaches the second worker within seconds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storyhub.media.tables import MediaAsset
from storyhub.settings import Settings, load_settings
from tests.integration.media.services_world import (
    database_and_bucket,
    job_row,
    kick_media,
    list_objects,
    new_job,
    seed_story,
    services_env,
    wait_for_job,
)
from tests.support.worker import WorkerProcess

REDELIVERY_SECONDS = 30
TIME_LIMIT_SECONDS = 20


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, s3_endpoint: str
) -> dict[str, str]:
    limit = str(TIME_LIMIT_SECONDS)
    return services_env(
        tmp_path_factory.mktemp("redelivery"),
        redis_url,
        s3_endpoint,
        "redelivery",
        redis_db=6,
        STORYHUB_TASK_REDELIVERY_SECONDS=str(REDELIVERY_SECONDS),
        STORYHUB_TASK_MEDIA_SECONDS=limit,
        STORYHUB_TASK_TEXT_SECONDS=limit,
        STORYHUB_TASK_BOOK_SECONDS=limit,
    )


@pytest.fixture(scope="module")
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@pytest.fixture
async def ready(settings: Settings) -> AsyncIterator[None]:
    async with database_and_bucket(settings):
        yield


# Three server (or two worker) starts plus a redelivery wait: on a loaded 2-core
# machine each start alone took 30-40 s, more than the suite's 120 s default allows.
@pytest.mark.timeout(360)
async def test_killed_worker_task_is_redelivered_and_makes_one_asset_each(
    env: dict[str, str], settings: Settings, ready: None, tmp_path: Path
) -> None:
    owner, story_id = await seed_story("Leo and Ada built a castle of snow in the village.")
    job_id = await new_job(owner, story_id, "video")
    first = WorkerProcess(env, tmp_path / "first.log").start()
    second = WorkerProcess(env, tmp_path / "second.log")
    try:
        await kick_media(settings, story_id, "video", job_id)
        # A video is an illustration, a narration and an ffmpeg encode: seconds
        # of work, so the worker is mid-task when its row says running.
        await wait_for_job(job_id, {"running", "done", "failed"}, timeout=60, interval=0.05)
        first.kill9()
        killed_at = time.monotonic()
        assert (await job_row(job_id))["status"] == "running", "the task ended before the kill"

        second.start()
        row = await wait_for_job(job_id, {"done", "failed"}, timeout=REDELIVERY_SECONDS + 120)
        finished_after = time.monotonic() - killed_at
    finally:
        first.kill9()
        second.stop()

    assert row["status"] == "done", (row, second.tail())
    assert "storyhub.media.generate" in (tmp_path / "second.log").read_text(), second.tail()
    # The message came back only once nobody had acknowledged it for the redelivery time.
    assert finished_after >= REDELIVERY_SECONDS - 2

    assets = await MediaAsset.select(MediaAsset.kind, MediaAsset.blob_key).where(
        MediaAsset.story == story_id
    )
    assert sorted(a["kind"] for a in assets) == ["audio", "image", "video"]
    # One object per asset and nothing else: a run cut short left no orphan.
    assert list_objects(settings, f"stories/{story_id}/") == sorted(a["blob_key"] for a in assets)
