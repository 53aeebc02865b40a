"""Retries that really wait: exponential backoff with jitter, scheduled in Redis.

TaskIQ's ``SmartRetryMiddleware`` decides whether a failed task runs again
and hands the next attempt to a schedule source. Without a source it sends
the retry at once (the ``delay`` label it adds is ignored by our brokers), so:

- services mode: retries go to :class:`RedisRetrySchedule` (a sorted set by
  due time) and every ``storyhub worker`` process runs TaskIQ's own
  ``SchedulerLoop`` over it (:class:`RetryLoop`). Each due retry is claimed
  atomically before it is sent, so several workers never send it twice;
- embedded mode: :class:`BackoffRetryMiddleware` sleeps in the background of
  the one process and sends the retry then (an in-process broker loses its
  queue on restart anyway).

Tasks that record their own outcome ask :func:`will_retry` whether a failure
of the current run is final, using the same labels the middleware reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker, Context, ScheduledTask, ScheduleSource, SmartRetryMiddleware
from taskiq.cli.scheduler.run import SchedulerLoop
from taskiq.exceptions import ScheduledTaskCancelledError
from taskiq.kicker import AsyncKicker
from taskiq.message import TaskiqMessage
from taskiq.scheduler.scheduler import TaskiqScheduler

log = logging.getLogger("storyhub.lib.retries")

JITTER = 0.25
"""Each wait is stretched by up to this fraction, at random, so retries of many
tasks that failed together (a provider outage) do not return together."""
CLAIM_SECONDS = 60
"""A claimed retry not sent within this long (its sender died) is sent by another worker."""
LOOKAHEAD_SECONDS = 2.0
"""Retries due this soon are fetched already: the loop refreshes once a second."""
FETCH_LIMIT = 500


class BackoffRetryMiddleware(SmartRetryMiddleware):
    """``SmartRetryMiddleware`` with doubling waits, jitter and an in-process fallback.

    TaskIQ's own ``use_delay_exponent`` grows the wait linearly (delay *
    retries); here the n-th retry waits ``delay * 2**(n-1)``, at most
    ``max_delay``, stretched by up to :data:`JITTER`: never shorter than the
    configured backoff.
    """

    def __init__(
        self,
        *,
        max_attempts: int,
        delay: float,
        max_delay: float,
        schedule_source: ScheduleSource | None = None,
    ) -> None:
        super().__init__(
            default_retry_count=max_attempts,
            default_retry_label=False,
            no_result_on_retry=True,
            default_delay=delay,
            use_jitter=True,
            schedule_source=schedule_source,
        )
        self.max_delay = max_delay
        self._pending: set[asyncio.Task[None]] = set()

    def make_delay(self, message: TaskiqMessage, retries: int) -> float:
        base = float(message.labels.get("delay", self.default_delay))
        wait = min(base * 2 ** max(retries - 1, 0), self.max_delay)
        return wait * (1 + JITTER * random.random())  # noqa: S311 (spreading, not secrecy)

    async def on_send(
        self, kicker: AsyncKicker[Any, Any], message: TaskiqMessage, delay: float
    ) -> None:
        if self.schedule_source is not None:
            await super().on_send(kicker, message, delay)
            return
        task = asyncio.create_task(self._send_later(kicker, message, delay))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @staticmethod
    async def _send_later(
        kicker: AsyncKicker[Any, Any], message: TaskiqMessage, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        try:
            await kicker.kiq(*message.args, **message.kwargs)
        except Exception:
            log.exception("could not send the retry of %s", message.task_name)

    async def shutdown(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)


def will_retry(context: Context) -> bool:
    """True when the broker's retry middleware will run this task again if this run fails."""
    for middleware in context.broker.middlewares:
        if isinstance(middleware, SmartRetryMiddleware):
            message = context.message
            if not middleware.is_retry_on_error(message):
                return False
            attempt = int(message.labels.get("_retries", 0)) + 1
            limit = int(message.labels.get("max_retries", middleware.default_retry_count))
            return attempt < limit
    return False


class RedisRetrySchedule(ScheduleSource):
    """One-off schedules (retries) in Redis: a sorted set by due time plus one key each.

    taskiq-redis's ``ListRedisScheduleSource`` files one-off schedules under
    per-minute keys and finds overdue ones by ``SCAN``-ning the whole keyspace,
    and nothing stops two schedulers from sending the same schedule; a sorted
    set answers "what is due" in one range query, and :meth:`pre_send` claims
    each schedule with ``SET NX`` so exactly one worker sends it.
    """

    def __init__(self, url: str, prefix: str = "storyhub:retries") -> None:
        self.url = url
        self.prefix = prefix
        self._redis: Redis | None = None

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.url)
        return self._redis

    def _due(self) -> str:
        return f"{self.prefix}:due"

    def _data(self, schedule_id: str) -> str:
        return f"{self.prefix}:data:{schedule_id}"

    def _claim(self, schedule_id: str) -> str:
        return f"{self.prefix}:claim:{schedule_id}"

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        if schedule.time is None:
            raise ValueError("RedisRetrySchedule holds one-off schedules (a time) only.")
        due = schedule.time.timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._data(schedule.schedule_id), schedule.model_dump_json())
            pipe.zadd(self._due(), {schedule.schedule_id: due})
            await pipe.execute()

    async def get_schedules(self) -> list[ScheduledTask]:
        horizon = time.time() + LOOKAHEAD_SECONDS
        ids = await self.redis.zrangebyscore(self._due(), "-inf", horizon, 0, FETCH_LIMIT)
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for raw_id in ids:
                schedule_id = raw_id.decode()
                pipe.get(self._data(schedule_id))
                pipe.exists(self._claim(schedule_id))
            replies = await pipe.execute()
        schedules = []
        for data, claimed in zip(replies[::2], replies[1::2], strict=True):
            # A claimed retry is left out, so a loop that lost the claim forgets
            # it and sends it after all if the claim expires unsent.
            if data is not None and not claimed:
                schedules.append(ScheduledTask.model_validate_json(data))
        return schedules

    async def pre_send(self, task: ScheduledTask) -> None:
        claimed = await self.redis.set(
            self._claim(task.schedule_id), b"1", nx=True, ex=CLAIM_SECONDS
        )
        if not claimed:
            raise ScheduledTaskCancelledError

    async def post_send(self, task: ScheduledTask) -> None:
        # The claim stays until it expires: a loop still holding the schedule
        # from an earlier fetch cannot claim (and send) it again.
        await self.delete_schedule(task.schedule_id)

    async def delete_schedule(self, schedule_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._due(), schedule_id)
            pipe.delete(self._data(schedule_id))
            await pipe.execute()

    async def pending(self) -> int:
        """How many retries wait (for health checks and tests)."""
        return int(await self.redis.zcard(self._due()))

    async def shutdown(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


class RetryLoop:
    """TaskIQ's scheduler loop over the retry schedule, inside a worker process.

    Started and stopped by the broker's worker startup and shutdown events.
    """

    def __init__(self, broker: AsyncBroker, source: ScheduleSource) -> None:
        self.broker = broker
        self.source = source
        self._task: asyncio.Task[None] | None = None

    async def start(self, _: Any = None) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="storyhub-retry-loop")

    async def _run(self) -> None:
        scheduler = TaskiqScheduler(self.broker, [self.source])
        loop = SchedulerLoop(scheduler)
        try:
            await loop.run(update_interval=timedelta(seconds=1), loop_interval=timedelta(seconds=1))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the retry loop stopped; retries wait until the worker restarts")

    async def stop(self, _: Any = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.source.shutdown()
