"""Media over HTTP against running servers: request, events, tasks, downloads, quotas.

Services mode: a ``storyhub serve`` process and a real ``storyhub worker``
process on PostgreSQL, a private Redis and a moto S3 server; downloads are
presigned redirects. Embedded mode: SQLite, tasks in-process, blobs in a local
folder streamed by the authorized route; its media tools are hidden so that
narration fails and the failure reaches the room as an event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from storyhub.lib.blobs import S3BlobStore
from storyhub.media.tools import MediaTools, probe_file
from storyhub.settings import load_settings
from tests.conftest import base_env, fresh_pg_database
from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import TestUser, create_user
from tests.support.worker import WorkerProcess
from tests.support.wsclient import Event, StoryClient

MEDIA_SECONDS = 180.0
"""Upper bound for a video on a busy 2-core machine (it takes seconds when idle)."""
PER_USER, PER_STORY = 3, 4
START_SECONDS = 120.0
"""Server start-up on a machine whose 2 cores other test runs share."""


def _ensure_bucket(env: dict[str, str]) -> None:
    async def create() -> None:
        settings = load_settings(env)
        assert settings.s3 is not None
        store = S3BlobStore(settings.s3)
        try:
            await store.ensure_bucket()
        finally:
            await store.aclose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create()).result()


@pytest.fixture(scope="module")
def media_server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, s3_endpoint: str
) -> Iterator[ServerProcess]:
    """Services mode with S3 and low quotas, plus one worker process."""
    logs = tmp_path_factory.mktemp("media-services")
    env = base_env(logs / "data")
    env.update(
        {
            "STORYHUB_DATABASE_URL": fresh_pg_database("media_api"),
            # Its own Redis database: no other test's worker shares this task stream.
            "STORYHUB_VALKEY_URL": redis_url.rsplit("/", 1)[0] + "/3",
            "STORYHUB_S3_BUCKET": f"media-api-{uuid.uuid4().hex[:8]}",
            "STORYHUB_S3_ENDPOINT_URL": s3_endpoint,
            "STORYHUB_S3_REGION": "eu-west-1",
            "STORYHUB_S3_ACCESS_KEY_ID": "test",
            "STORYHUB_S3_SECRET_ACCESS_KEY": "test",
            "STORYHUB_MEDIA_QUOTA_PER_USER_PER_DAY": str(PER_USER),
            "STORYHUB_MEDIA_QUOTA_PER_STORY_PER_DAY": str(PER_STORY),
        }
    )
    _ensure_bucket(env)
    server = ServerProcess(env, logs / "server.log")
    worker = WorkerProcess(env, logs / "worker.log")
    try:
        server.start(timeout=START_SECONDS)
        worker.start(timeout=START_SECONDS)
        yield server
    finally:  # also when start-up failed: never leave a process behind
        worker.stop()
        server.stop()


@pytest.fixture(scope="module")
def toolless_embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Embedded mode whose media tools (espeak-ng, ffmpeg) cannot be found."""
    logs = tmp_path_factory.mktemp("media-embedded")
    empty = logs / "no-tools"
    empty.mkdir()
    env = base_env(logs / "data")
    env["STORYHUB_MEDIA_TOOL_PATH"] = str(empty)
    server = ServerProcess(env, logs / "server.log")
    try:
        server.start(timeout=START_SECONDS)
        yield server
    finally:
        server.stop()


def add_segment(server: ServerProcess, story: uuid.UUID, seq: int, author: TestUser) -> None:
    execute(
        server,
        "INSERT INTO segments (story, seq, author, content, created_at) VALUES (?, ?, ?, ?, ?)",
        story,
        seq,
        author.id,
        f"Part {seq}: the fox carried the lantern over the frozen river at dusk.",
        datetime.now(UTC),
    )


def ready(kind: str) -> Any:
    return lambda e: e.get("type") == "mediaReady" and e.get("kind") == kind


async def wait_task(
    http: httpx.AsyncClient, task_id: str, user: TestUser, status: str
) -> dict[str, Any]:
    """Poll ``GET /tasks/{id}`` until it reports ``status`` (the row follows the event)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        answer = await http.get(f"/tasks/{task_id}", headers=user.headers)
        assert answer.status_code == 200, answer.text
        task: dict[str, Any] = answer.json()
        if task["status"] == status:
            return task
        assert task["status"] in ("queued", "running"), task
        assert loop.time() < deadline, task
        await asyncio.sleep(0.2)


async def fetch(http: httpx.AsyncClient, url: str, user: TestUser) -> bytes:
    """Download through the authorized route, following an S3 redirect without our token."""
    answer = await http.get(url, headers=user.headers)
    if answer.status_code == 302:
        location = answer.headers["location"]
        assert "X-Amz-Signature=" in location
        assert "X-Amz-Expires=300" in location
        answer = await http.get(location)
    assert answer.status_code == 200, answer.text
    return answer.content


async def probe(tmp_path: Path, name: str, data: bytes) -> Any:
    path = tmp_path / name
    path.write_bytes(data)
    return await probe_file(MediaTools(), str(path))


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    return body


class TestServicesMode:
    async def test_request_events_tasks_downloads_and_quotas(
        self, media_server: ServerProcess, tmp_path: Path
    ) -> None:
        server = media_server
        owner = create_user(server, display_name="Owner")
        author = create_user(server, display_name="Author")
        viewer = create_user(server)
        stranger = create_user(server)
        kid = create_user(server, age_tier="child")  # no parental consent on record
        story = create_story(
            server, owner, [(author, "author"), (viewer, "viewer"), (kid, "author")]
        )
        add_segment(server, story, 1, owner)
        add_segment(server, story, 2, kid)
        media = f"/stories/{story}/segments/1/media"

        room = await StoryClient.open(server, story, viewer.token)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
            try:
                assert (await room.join())["type"] == "ack"

                # Refusals, none of which counts against a quota.
                problem(
                    await http.post(media, json={"kind": "image"}, headers=stranger.headers),
                    404,
                    "storyNotFound",
                )
                problem(
                    await http.post(media, json={"kind": "image"}, headers=viewer.headers),
                    403,
                    "notAllowed",
                )
                problem(
                    await http.post(
                        f"/stories/{story}/segments/9/media",
                        json={"kind": "image"},
                        headers=owner.headers,
                    ),
                    404,
                    "segmentNotFound",
                )
                for body in ({"kind": "gif"}, {"kind": "cover"}, {"kind": "image", "x": 1}):
                    problem(
                        await http.post(media, json=body, headers=owner.headers),
                        400,
                        "invalidInput",
                    )
                problem(
                    await http.post(
                        f"/stories/{story}/segments/2/media",
                        json={"kind": "image"},
                        headers=owner.headers,
                    ),
                    403,
                    "consentRequired",
                )

                tasks: dict[str, str] = {}
                for kind in ("image", "audio", "video"):
                    accepted = await http.post(media, json={"kind": kind}, headers=owner.headers)
                    assert accepted.status_code == 202, accepted.text
                    assert set(accepted.json()) == {"taskId"}
                    tasks[kind] = accepted.json()["taskId"]

                events: dict[str, Event] = {}
                for kind in ("image", "audio", "video"):
                    events[kind] = await room.until(ready(kind), timeout=MEDIA_SECONDS)
                    assert events[kind]["seq"] == 1
                    assert events[kind]["url"].startswith("/media/")

                results: dict[str, dict[str, Any]] = {}
                for kind, task_id in tasks.items():
                    task = await wait_task(http, task_id, owner, "done")
                    assert task["kind"] == f"media:{kind}"
                    assert task["storyId"] == str(story)
                    result = task["result"]
                    assert result["url"] == events[kind]["url"]
                    assert "blobKey" not in result
                    results[kind] = result
                    # Only the requester reads the task; nobody else learns it exists.
                    for other in (stranger, viewer):
                        problem(
                            await http.get(f"/tasks/{task_id}", headers=other.headers),
                            404,
                            "taskNotFound",
                        )
                    problem(
                        await http.get(result["url"], headers=stranger.headers),
                        404,
                        "mediaNotFound",
                    )

                png = await fetch(http, results["image"]["url"], viewer)
                with Image.open(io.BytesIO(png)) as picture:
                    picture.load()
                    assert (picture.format, picture.size) == ("PNG", (1024, 576))
                narration = await probe(
                    tmp_path, "narration.ogg", await fetch(http, results["audio"]["url"], author)
                )
                assert narration.audio_codec is not None
                assert narration.duration_seconds > 1
                clip = await probe(
                    tmp_path, "clip.mp4", await fetch(http, results["video"]["url"], owner)
                )
                assert (clip.video_codec, clip.audio_codec) == ("h264", "aac")
                assert abs(clip.duration_seconds - narration.duration_seconds) < 1.5, (
                    clip.duration_seconds,
                    narration.duration_seconds,
                )

                # The owner has used their 3 requests: the 4th is refused with a time to wait.
                refused = await http.post(media, json={"kind": "image"}, headers=owner.headers)
                body = problem(refused, 429, "quotaExceeded")
                assert body["scope"] == "user"
                assert 86000 < int(refused.headers["retry-after"]) <= 86400
                # Another writer may still ask: an existing asset is answered at once...
                again = await http.post(media, json={"kind": "image"}, headers=author.headers)
                assert again.status_code == 202, again.text
                repeat = await wait_task(http, again.json()["taskId"], author, "done")
                assert repeat["result"]["assetId"] == results["image"]["assetId"]
                assert (await room.until(ready("image")))["url"] == events["image"]["url"]
                # ...until the story's own limit (4) is reached.
                story_full = await http.post(media, json={"kind": "audio"}, headers=author.headers)
                assert problem(story_full, 429, "quotaExceeded")["scope"] == "story"

                usage = (await http.get("/users/me/usage", headers=owner.headers)).json()
                assert usage["used"] == 3
                assert usage["remaining"] == 0
                assert usage["byKind"] == {"image": 1, "audio": 1, "video": 1}
                assert (usage["limit"], usage["perStoryLimit"]) == (PER_USER, PER_STORY)

                listed = await http.get(f"/stories/{story}/segments", headers=viewer.headers)
                first = listed.json()["items"][0]
                assert (first["imageUrl"], first["audioUrl"], first["videoUrl"]) == tuple(
                    events[k]["url"] for k in ("image", "audio", "video")
                )
            finally:
                await room.close()

        rows = execute(
            server,
            "SELECT kind, requested_by, generation_ms, provider, prompt FROM media_assets"
            " WHERE story = ? ORDER BY kind",
            story,
        )
        assert [r[0] for r in rows] == ["audio", "image", "video"]
        for _, requested_by, generation_ms, provider, prompt in rows:
            assert str(requested_by) == str(owner.id)
            assert generation_ms is not None
            assert int(generation_ms) >= 0
            assert provider == "offline"
            assert prompt


class TestEmbeddedMode:
    async def test_streamed_download_cover_and_a_failure_event(
        self, toolless_embedded_server: ServerProcess
    ) -> None:
        server = toolless_embedded_server
        owner = create_user(server)
        stranger = create_user(server)
        story = create_story(server, owner, title="The Lantern Fox")
        add_segment(server, story, 1, owner)

        room = await StoryClient.open(server, story, owner.token)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
            try:
                assert (await room.join())["type"] == "ack"
                image = await http.post(
                    f"/stories/{story}/segments/1/media",
                    json={"kind": "image"},
                    headers=owner.headers,
                )
                assert image.status_code == 202, image.text
                cover = await http.post(f"/stories/{story}/cover", headers=owner.headers)
                assert cover.status_code == 202, cover.text
                audio = await http.post(
                    f"/stories/{story}/segments/1/media",
                    json={"kind": "audio"},
                    headers=owner.headers,
                )
                assert audio.status_code == 202, audio.text

                drawn = await room.until(ready("image"), timeout=MEDIA_SECONDS)
                streamed = await http.get(drawn["url"], headers=owner.headers)
                assert streamed.status_code == 200, streamed.text
                assert streamed.headers["content-type"] == "image/png"
                assert 'filename="segment-1-image.png"' in streamed.headers["content-disposition"]
                with Image.open(io.BytesIO(streamed.content)) as picture:
                    assert picture.size == (1024, 576)
                problem(
                    await http.get(drawn["url"], headers=stranger.headers), 404, "mediaNotFound"
                )
                problem(await http.get(drawn["url"]), 401, "unauthenticated")

                art = await room.until(ready("cover"), timeout=MEDIA_SECONDS)
                assert art["seq"] is None
                with Image.open(io.BytesIO(await fetch(http, art["url"], owner))) as picture:
                    assert picture.size == (1024, 1536)
                story_out = (await http.get(f"/stories/{story}", headers=owner.headers)).json()
                assert story_out["coverArtUrl"] == art["url"]

                # Without espeak-ng narration cannot be made: the room hears why.
                failed = await room.until("mediaFailed", timeout=MEDIA_SECONDS)
                task_id = audio.json()["taskId"]
                assert (failed["seq"], failed["kind"], failed["taskId"]) == (1, "audio", task_id)
                assert failed["code"] == "providerUnavailable"
                assert failed["requestedBy"] == str(owner.id)
                task = await wait_task(http, task_id, owner, "failed")
                assert task["error"] == failed["message"]
                assert "result" not in task
                problem(
                    await http.get(f"/tasks/{task_id}", headers=stranger.headers),
                    404,
                    "taskNotFound",
                )
            finally:
                await room.close()
