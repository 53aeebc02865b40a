"""The TaskIQ broker, chosen by settings.

Embedded mode runs tasks in-process (still off the request path); services
mode uses ``RedisStreamBroker``, which acknowledges messages so a killed
worker's task is redelivered, with a Redis result backend that expires.
"""

from __future__ import annotations

from taskiq import AsyncBroker, InMemoryBroker
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from storyhub.lib.kv import redis_compatible_url
from storyhub.settings import Settings, load_settings

RESULT_TTL_SECONDS = 24 * 3600


def build_broker(settings: Settings) -> AsyncBroker:
    """An unstarted broker; its owner calls ``startup()``/``shutdown()``."""
    if settings.valkey_url is None:
        return InMemoryBroker()
    url = redis_compatible_url(settings.valkey_url)
    # consumer_id "0": a group created by the first worker starts at the
    # beginning of the stream, so tasks queued before any worker ever ran are
    # still delivered ("$" would skip them). Once the group exists it is kept.
    return RedisStreamBroker(url, queue_name="storyhub:tasks", consumer_id="0").with_result_backend(
        RedisAsyncResultBackend(url, result_ex_time=RESULT_TTL_SECONDS)
    )


# The worker CLI imports tasks by module path and needs a module-level broker;
# nothing connects until ``startup()``.
broker = build_broker(load_settings())
