"""The services-mode broker delivers what was queued before any worker started."""

from __future__ import annotations

import asyncio
from pathlib import Path

import valkey
from taskiq import BrokerMessage

from storyhub.lib.broker import build_broker
from storyhub.settings import load_settings


async def test_task_queued_before_the_first_worker_is_delivered(
    redis_url: str, tmp_path: Path
) -> None:
    # A logical database of its own: other tests' workers on this Redis must
    # not consume the probe message, and the consumer group must not exist yet.
    url = redis_url.rsplit("/", 1)[0] + "/11"
    client = valkey.Valkey.from_url(url)
    client.flushdb()
    client.close()
    settings = load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_VALKEY_URL": url,
            "STORYHUB_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused",
            "STORYHUB_SECRET_KEY": "x" * 40,
        }
    )
    api_side = build_broker(settings)
    # The API only kicks; it never starts a consumer group.
    message = BrokerMessage(
        task_id="t-early", task_name="storyhub.probe", message=b"early", labels={}
    )
    await api_side.kick(message)

    worker_side = build_broker(settings)
    await worker_side.startup()
    try:
        received = await asyncio.wait_for(anext(aiter(worker_side.listen())), timeout=10)
        body = received.data if hasattr(received, "data") else received
        assert body == b"early"
    finally:
        await worker_side.shutdown()
        await api_side.shutdown()
