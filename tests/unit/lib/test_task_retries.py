"""Task settings, backoff and retries that wait, with TaskIQ's in-process broker."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise
from pathlib import Path

import pytest
from taskiq import Context
from taskiq.message import TaskiqMessage

from storyhub.lib.broker import build_broker
from storyhub.lib.retries import BackoffRetryMiddleware, will_retry
from storyhub.settings import SettingsError, load_settings


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"STORYHUB_DATA_DIR": str(tmp_path), **extra}


def test_defaults_keep_redelivery_above_every_time_limit(tmp_path: Path) -> None:
    tasks = load_settings(_env(tmp_path)).tasks
    assert (tasks.redelivery_seconds, tasks.longest_limit) == (600, 300)


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({"STORYHUB_TASK_REDELIVERY_SECONDS": "305"}, "STORYHUB_TASK_REDELIVERY_SECONDS"),
        (
            {"STORYHUB_TASK_REDELIVERY_SECONDS": "30", "STORYHUB_TASK_MEDIA_SECONDS": "26"},
            "STORYHUB_TASK_REDELIVERY_SECONDS",
        ),
        ({"STORYHUB_TASK_BOOK_SECONDS": "900"}, "STORYHUB_TASK_REDELIVERY_SECONDS"),
        ({"STORYHUB_TASK_MEDIA_SECONDS": "0"}, "STORYHUB_TASK_MEDIA_SECONDS"),
        ({"STORYHUB_TASK_RETRY_DELAY_SECONDS": "soon"}, "STORYHUB_TASK_RETRY_DELAY_SECONDS"),
        ({"STORYHUB_TASK_RETRY_MAX_DELAY_SECONDS": "1"}, "STORYHUB_TASK_RETRY_MAX_DELAY_SECONDS"),
    ],
)
def test_unusable_task_settings_name_the_variable(
    tmp_path: Path, extra: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(_env(tmp_path, **extra))


def test_short_limits_allow_a_short_redelivery(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        STORYHUB_TASK_REDELIVERY_SECONDS="30",
        STORYHUB_TASK_MEDIA_SECONDS="20",
        STORYHUB_TASK_TEXT_SECONDS="20",
        STORYHUB_TASK_BOOK_SECONDS="24",
    )
    assert load_settings(env).tasks.redelivery_seconds == 30


def _message(**labels: object) -> TaskiqMessage:
    return TaskiqMessage(task_id="t", task_name="x", labels=labels, args=[], kwargs={})


def test_waits_double_stay_capped_and_are_never_shorter_than_the_backoff() -> None:
    middleware = BackoffRetryMiddleware(max_attempts=5, delay=2.0, max_delay=5.0)
    for retries, floor in ((1, 2.0), (2, 4.0), (3, 5.0), (4, 5.0)):
        waits = [middleware.make_delay(_message(), retries) for _ in range(200)]
        assert min(waits) >= floor, (retries, min(waits))
        assert max(waits) <= floor * 1.25, (retries, max(waits))
        assert max(waits) > min(waits)  # jitter spreads them


def test_will_retry_follows_the_middleware_labels(tmp_path: Path) -> None:
    broker = build_broker(load_settings(_env(tmp_path)))

    def context(**labels: object) -> Context:
        return Context(_message(**labels), broker)

    assert will_retry(context(retry_on_error=True, max_retries=3))
    assert will_retry(context(retry_on_error=True, max_retries=3, _retries=1))
    assert not will_retry(context(retry_on_error=True, max_retries=3, _retries=2))
    assert not will_retry(context(max_retries=3))  # the task did not ask for retries
    assert will_retry(context(retry_on_error="true"))  # labels arrive as strings too


async def test_embedded_broker_retries_after_a_real_wait(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, STORYHUB_TASK_RETRY_DELAY_SECONDS="0.3"))
    broker = build_broker(settings)
    attempts: list[float] = []
    finished = asyncio.Event()

    @broker.task(task_name="tests.flaky", retry_on_error=True, max_retries=3)
    async def flaky() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise RuntimeError("not yet")
        finished.set()
        return "ok"

    await broker.startup()
    try:
        await flaky.kiq()
        await asyncio.wait_for(finished.wait(), timeout=10)
    finally:
        await broker.shutdown()
    gaps = [b - a for a, b in pairwise(attempts)]
    assert len(attempts) == 3
    assert gaps[0] >= 0.3, gaps
    assert gaps[1] >= 0.6, gaps
