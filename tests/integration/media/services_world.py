"""Shared pieces for services-mode task tests: settings, database, seed rows, kicks, S3 listing.

The test process connects to the same PostgreSQL, Redis and moto S3 as the
real ``storyhub worker`` processes it starts, enqueues through its own
``RedisStreamBroker`` and reads what the workers wrote.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from taskiq.kicker import AsyncKicker

from storyhub.accounts.tables import User
from storyhub.jobs.tables import Job
from storyhub.lib import database
from storyhub.lib.blobs import S3BlobStore
from storyhub.lib.broker import build_broker
from storyhub.piccolo_app import TABLES
from storyhub.settings import Settings
from storyhub.stories.tables import Segment, Story
from tests.conftest import base_env, fresh_pg_database


def services_env(
    data_dir: Path, redis_url: str, s3_endpoint: str, name: str, redis_db: int, **extra: str
) -> dict[str, str]:
    """Worker settings on a fresh database, a Redis database of its own and a fresh bucket.

    A Redis database per test world keeps its task queue to itself: tasks other
    tests left on the shared queue (queued with no worker running) are never
    picked up by this world's worker, nor this world's by theirs.
    """
    env = base_env(data_dir)
    env.update(
        {
            "STORYHUB_DATABASE_URL": fresh_pg_database(name),
            "STORYHUB_VALKEY_URL": redis_url.rsplit("/", 1)[0] + f"/{redis_db}",
            "STORYHUB_S3_BUCKET": f"{name.replace('_', '-')}-{uuid.uuid4().hex[:8]}",
            "STORYHUB_S3_ENDPOINT_URL": s3_endpoint,
            "STORYHUB_S3_REGION": "eu-west-1",
            "STORYHUB_S3_ACCESS_KEY_ID": "test",
            "STORYHUB_S3_SECRET_ACCESS_KEY": "test",
        }
    )
    env.update(extra)
    return env


@asynccontextmanager
async def database_and_bucket(settings: Settings) -> AsyncIterator[None]:
    """Migrate the database, open this process's pool and create the bucket."""
    assert settings.s3 is not None
    store = S3BlobStore(settings.s3)
    await store.ensure_bucket()
    await store.aclose()
    engine = database.build_engine(settings.database_url)
    await database.migrate(engine, TABLES)
    await database.open_pool(engine, max_size=2)
    database.install_engine(engine, TABLES)
    try:
        yield
    finally:
        await database.close_pool(engine)


async def seed_story(text: str) -> tuple[uuid.UUID, uuid.UUID]:
    """An adult author's story with one segment; returns (author id, story id)."""
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
    await Segment(story=story.id, seq=1, content=text).save()
    return user.id, story.id


async def new_job(owner: uuid.UUID, story_id: uuid.UUID, kind: str) -> uuid.UUID:
    job = Job(owner=owner, story_id=story_id, kind=kind)
    await job.save()
    return uuid.UUID(str(job.id))


async def kick_media(settings: Settings, story_id: uuid.UUID, kind: str, job_id: uuid.UUID) -> None:
    """Enqueue ``storyhub.media.generate`` with the labels it declares (time limit, retries)."""
    from storyhub.media.tasks import generate_media

    broker = build_broker(settings)
    await broker.startup()
    try:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(
            task_name="storyhub.media.generate", broker=broker, labels=dict(generate_media.labels)
        )
        await kicker.kiq(str(story_id), 1, kind, job_id=str(job_id))
    finally:
        await broker.shutdown()


async def job_row(job_id: uuid.UUID) -> dict[str, Any]:
    row = await Job.select().where(Job.id == job_id).first()
    assert row is not None
    return row


async def wait_for_job(
    job_id: uuid.UUID, statuses: set[str], timeout: float, interval: float = 0.1
) -> dict[str, Any]:
    """Poll the job row (what ``GET /tasks/{id}`` reads) until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        row = await job_row(job_id)
        if row["status"] in statuses:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {row['status']!r} after {timeout} s: {row}")
        await asyncio.sleep(interval)


def list_objects(settings: Settings, prefix: str) -> list[str]:
    """Every key under ``prefix`` in the bucket, read straight from the S3 server."""
    assert settings.s3 is not None
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3.endpoint_url,
        region_name=settings.s3.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=settings.s3.bucket, Prefix=prefix
    )
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
