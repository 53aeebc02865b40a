"""Retries wait: a failing provider is asked again only after the backoff.

A real ``storyhub worker`` uses the OpenAI-compatible image provider pointed
at a small HTTP server in this test that answers 500 (and tells the SDK not
to retry by itself), then succeeds; it records when each call came. Retries
travel through the Redis retry schedule and the worker's scheduler loop.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest
from PIL import Image

from storyhub.media.tables import MediaAsset
from storyhub.settings import Settings, load_settings
from tests.integration.media.services_world import (
    database_and_bucket,
    kick_media,
    new_job,
    seed_story,
    services_env,
    wait_for_job,
)
from tests.support.worker import WorkerProcess

RETRY_DELAY = 2.0
FLAKY = "flaky-lantern"
BROKEN = "broken-lantern"
"""Segment words the fake service keys on: FLAKY fails twice, then works; BROKEN always fails."""


def _png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def _clean_moderation() -> dict[str, object]:
    return {
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [{"flagged": False, "categories": {}, "category_scores": {}}],
    }


class FlakyImageService:
    """``POST /v1/images/generations`` that fails as the prompt's marker says, timing calls.

    ``POST /v1/moderations`` (the worker's safety filter asks it about each
    prompt) always answers that the text is clean.
    """

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = {FLAKY: [], BROKEN: []}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/moderations"):
                    # The safety filter's second opinion on the image prompt: clean.
                    self._answer(200, _clean_moderation())
                    return
                marker = FLAKY if FLAKY in body["prompt"] else BROKEN
                service.calls[marker].append(time.monotonic())
                if marker == BROKEN or len(service.calls[marker]) <= 2:
                    self._answer(500, {"error": {"message": "overloaded", "type": "server"}})
                else:
                    self._answer(200, {"created": 0, "data": [{"b64_json": _png()}]})

            def _answer(self, status: int, payload: object) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                # The SDK would retry a 500 on its own; the task's retries are under test.
                self.send_header("x-should-retry", "false")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def service() -> Iterator[FlakyImageService]:
    flaky = FlakyImageService()
    yield flaky
    flaky.close()


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    s3_endpoint: str,
    service: FlakyImageService,
) -> dict[str, str]:
    return services_env(
        tmp_path_factory.mktemp("retries"),
        redis_url,
        s3_endpoint,
        "retries",
        redis_db=5,
        STORYHUB_OPENAI_BASE_URL=service.url,
        STORYHUB_OPENAI_API_KEY="test-key",
        STORYHUB_AI_OPENAI_KINDS="image",
        STORYHUB_TASK_RETRY_DELAY_SECONDS=str(RETRY_DELAY),
        STORYHUB_TASK_RETRY_MAX_DELAY_SECONDS="30",
    )


@pytest.fixture(scope="module")
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@pytest.fixture
async def worker(env: dict[str, str], settings: Settings, tmp_path: Path) -> AsyncIterator[None]:
    async with database_and_bucket(settings):
        process = WorkerProcess(env, tmp_path / "worker.log").start()
        try:
            yield
        finally:
            process.stop()


async def test_retries_wait_for_the_backoff_then_succeed_or_fail_for_good(
    worker: None, settings: Settings, service: FlakyImageService
) -> None:
    owner, flaky_story = await seed_story(f"The {FLAKY} glowed over the snow castle.")
    _, broken_story = await seed_story(f"The {BROKEN} flickered in the village.")
    flaky_job = await new_job(owner, flaky_story, "image")
    broken_job = await new_job(owner, broken_story, "image")
    await kick_media(settings, flaky_story, "image", flaky_job)
    await kick_media(settings, broken_story, "image", broken_job)

    flaky = await wait_for_job(flaky_job, {"done", "failed"}, timeout=90)
    broken = await wait_for_job(broken_job, {"done", "failed"}, timeout=90)

    # Three attempts each (max_retries 3), the second after at least the
    # backoff, the third after at least twice it.
    for marker in (FLAKY, BROKEN):
        calls = service.calls[marker]
        assert len(calls) == 3, (marker, calls)
        gaps = [later - earlier for earlier, later in pairwise(calls)]
        assert gaps[0] >= RETRY_DELAY, (marker, gaps)
        assert gaps[1] >= 2 * RETRY_DELAY, (marker, gaps)

    assert flaky["status"] == "done", flaky
    assets = await MediaAsset.select(MediaAsset.kind, MediaAsset.provider).where(
        MediaAsset.story == flaky_story
    )
    assert [(a["kind"], a["provider"]) for a in assets] == [("image", "openai")]

    assert broken["status"] == "failed", broken
    assert broken["error"] == (f"The AI service at {service.url} answered 500 to image generation.")
    assert await MediaAsset.count().where(MediaAsset.story == broken_story) == 0
