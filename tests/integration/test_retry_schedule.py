"""The Redis retry schedule on a real Redis: due retries, claimed once, then gone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from taskiq import ScheduledTask
from taskiq.exceptions import ScheduledTaskCancelledError

from storyhub.lib.retries import RedisRetrySchedule


@pytest.fixture
async def sources(redis_url: str) -> AsyncIterator[tuple[RedisRetrySchedule, RedisRetrySchedule]]:
    prefix = f"test:retries:{uuid.uuid4().hex[:8]}"
    first, second = RedisRetrySchedule(redis_url, prefix), RedisRetrySchedule(redis_url, prefix)
    yield first, second
    await first.shutdown()
    await second.shutdown()


def _retry(seconds_from_now: float) -> ScheduledTask:
    return ScheduledTask(
        task_name="storyhub.media.generate",
        labels={"_retries": 1, "max_retries": 3},
        args=["story", 1, "image"],
        kwargs={"job_id": "job"},
        task_id="task-1",
        time=datetime.now(UTC) + timedelta(seconds=seconds_from_now),
    )


async def test_only_due_retries_are_listed_and_one_worker_claims_each(
    sources: tuple[RedisRetrySchedule, RedisRetrySchedule],
) -> None:
    first, second = sources
    due, later = _retry(-1), _retry(3600)
    await first.add_schedule(due)
    await first.add_schedule(later)
    assert await first.pending() == 2

    listed = await second.get_schedules()
    assert [s.schedule_id for s in listed] == [due.schedule_id]
    assert listed[0].args == ["story", 1, "image"]
    assert listed[0].labels == {"_retries": 1, "max_retries": 3}

    await first.pre_send(listed[0])
    with pytest.raises(ScheduledTaskCancelledError):
        await second.pre_send(listed[0])
    assert await second.get_schedules() == []  # claimed: nobody else lists it

    await first.post_send(listed[0])
    assert await first.pending() == 1
    with pytest.raises(ScheduledTaskCancelledError):
        await second.pre_send(listed[0])  # a stale copy cannot be sent again


async def test_only_one_off_schedules_are_accepted(
    sources: tuple[RedisRetrySchedule, RedisRetrySchedule],
) -> None:
    every_minute = ScheduledTask(task_name="x", labels={}, args=[], kwargs={}, cron="* * * * *")
    with pytest.raises(ValueError, match="one-off"):
        await sources[0].add_schedule(every_minute)
