"""The TaskIQ broker, chosen by settings.

Embedded mode runs tasks in-process (still off the request path); services
mode uses a ``RedisStreamBroker``, which acknowledges messages so a killed
worker's task is redelivered (after ``STORYHUB_TASK_REDELIVERY_SECONDS``),
with a Redis result backend that expires. Both retry failed tasks with
waits that double (:mod:`storyhub.lib.retries`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

from redis.asyncio import Redis
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker, TaskiqEvents
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from storyhub.lib.kv import redis_compatible_url
from storyhub.lib.retries import BackoffRetryMiddleware, RedisRetrySchedule, RetryLoop
from storyhub.settings import TASK_TIMEOUT_GRACE_SECONDS, Settings, TaskSettings, load_settings

RESULT_TTL_SECONDS = 24 * 3600
QUEUE = "storyhub:tasks"
MAX_ATTEMPTS = 3
"""Attempts of a task that declares ``retry_on_error`` but no ``max_retries``."""
CLAIM_EVERY_SECONDS = 1.0
"""How often an idle worker looks for messages a dead worker left unacknowledged."""


class ReclaimingStreamBroker(RedisStreamBroker):
    """``RedisStreamBroker`` that also reclaims abandoned messages when the queue is idle.

    taskiq-redis 1.2 runs ``XAUTOCLAIM`` only after a read that returned new
    messages, so a killed worker's task waited for unrelated traffic. Here
    every turn of the loop (at least every ``xread_block`` ms) claims, at most
    once per :data:`CLAIM_EVERY_SECONDS`, the messages unacknowledged for
    longer than ``idle_timeout``. ``XAUTOCLAIM`` is atomic and resets the idle
    time it claims, so two workers never get the same message from it.
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        streams = [self.queue_name, *self.additional_streams.keys()]
        next_claim = 0.0
        async with Redis(connection_pool=self.connection_pool) as conn:
            while True:
                fetched = await conn.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">", **self.additional_streams},  # type: ignore[dict-item]
                    block=self.block,
                    noack=False,
                    count=self.count,
                )
                for stream, messages in fetched or []:
                    for message_id, fields in messages:
                        yield self._ackable(stream, message_id, fields)
                if time.monotonic() < next_claim:
                    continue
                next_claim = time.monotonic() + CLAIM_EVERY_SECONDS
                for stream in streams:
                    _, claimed, *_ = await conn.xautoclaim(
                        name=stream,
                        groupname=self.consumer_group_name,
                        consumername=self.consumer_name,
                        min_idle_time=self.idle_timeout,
                        count=self.unacknowledged_batch_size,
                    )
                    for message_id, fields in claimed:
                        if fields:  # None: trimmed from the stream meanwhile
                            yield self._ackable(stream, message_id, fields)

    def _ackable(self, stream: Any, message_id: Any, fields: Any) -> AckableMessage:
        return AckableMessage(
            data=fields[b"data"], ack=self._ack_generator(id=message_id, queue_name=stream)
        )


def task_timeout(limit_seconds: int) -> int:
    """TaskIQ's ``timeout`` label for a task whose own time limit is ``limit_seconds``.

    The task stops its work at its limit and records why; TaskIQ's timeout is
    the backstop a little later. Settings ensure redelivery comes later still.
    """
    return limit_seconds + TASK_TIMEOUT_GRACE_SECONDS


def build_broker(settings: Settings) -> AsyncBroker:
    """An unstarted broker; its owner calls ``startup()``/``shutdown()``."""
    tasks = settings.tasks
    if settings.valkey_url is None:
        broker: AsyncBroker = InMemoryBroker()
        broker.add_middlewares(_retries(tasks, None))
        return broker
    url = redis_compatible_url(settings.valkey_url)
    # consumer_id "0": a group created by the first worker starts at the
    # beginning of the stream, so tasks queued before any worker ever ran are
    # still delivered ("$" would skip them). Once the group exists it is kept.
    broker = ReclaimingStreamBroker(
        url,
        queue_name=QUEUE,
        consumer_id="0",
        idle_timeout=tasks.redelivery_seconds * 1000,
    ).with_result_backend(RedisAsyncResultBackend(url, result_ex_time=RESULT_TTL_SECONDS))
    schedule = RedisRetrySchedule(url)
    broker.add_middlewares(_retries(tasks, schedule))
    # Every worker process sends the retries that fall due (each claimed once).
    loop = RetryLoop(broker, schedule)
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, loop.start)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, loop.stop)
    return broker


def _retries(tasks: TaskSettings, schedule: RedisRetrySchedule | None) -> BackoffRetryMiddleware:
    return BackoffRetryMiddleware(
        max_attempts=MAX_ATTEMPTS,
        delay=tasks.retry_delay_seconds,
        max_delay=tasks.retry_max_delay_seconds,
        schedule_source=schedule,
    )


# The worker CLI imports tasks by module path and needs a module-level broker;
# nothing connects until ``startup()``. Task modules take their time limits
# from the same settings.
_settings = load_settings()
broker = build_broker(_settings)
task_settings: TaskSettings = _settings.tasks
