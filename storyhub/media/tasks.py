"""TaskIQ tasks: media for a segment (or a cover) and the AI narrator's text.

Thin wrappers around :mod:`storyhub.media.generation`. They run in
``storyhub worker`` processes (services mode) or in-process (embedded mode),
with a per-task time limit and retries for failures that a retry can fix
(``ProviderFailed``, storage outages, unexpected errors). A failure no retry
can fix (missing story, bad kind, missing tool) is reported at once.

When a ``job_id`` is given, the job's row (``storyhub.jobs.tables.Job``, what
``GET /tasks/{id}`` reads) follows the task: running, then done with the
asset, or failed with a sentence.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from taskiq import (
    Context,
    SimpleRetryMiddleware,
    SmartRetryMiddleware,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqState,
)

from storyhub.jobs.tables import Job
from storyhub.lib.blobs import StorageUnavailable
from storyhub.lib.broker import broker
from storyhub.lib.errors import StoryhubError
from storyhub.media.generation import AssetRecord, MediaRuntime, generate_asset, write_ai_segment
from storyhub.media.providers.base import ProviderFailed
from storyhub.settings import load_settings

log = logging.getLogger("storyhub.media.tasks")

MAX_ATTEMPTS = 3
MEDIA_TASK_SECONDS = 300
"""Below the Redis stream idle timeout (600 s) after which an unacknowledged message is
redelivered: a task still running must never be handed to a second worker."""
TEXT_TASK_SECONDS = 180
RETRYABLE: tuple[type[BaseException], ...] = (ProviderFailed, StorageUnavailable)
RETRY_MIDDLEWARES = (SimpleRetryMiddleware, SmartRetryMiddleware)

CURRENT_CONTEXT: Context = TaskiqDepends()
"""TaskIQ injects the running message's context where this is the default."""

MediaReadyHook = Callable[[AssetRecord], Awaitable[None]]

_runtime: MediaRuntime | None = None
_on_ready: MediaReadyHook | None = None


def install_media_runtime(
    runtime: MediaRuntime | None, on_ready: MediaReadyHook | None = None
) -> None:
    """Use ``runtime`` for tasks in this process (the app does this in embedded mode).

    ``None`` forgets it: the next task builds one from the environment.

    ``on_ready`` is awaited with every asset a task stores, e.g. to publish
    ``mediaReady`` to the story's room (through Valkey in services mode).
    """
    global _runtime, _on_ready
    _runtime, _on_ready = runtime, on_ready


def media_runtime() -> MediaRuntime:
    """This process's runtime; a worker builds it from the environment on first use."""
    global _runtime
    if _runtime is None:
        _runtime = MediaRuntime.from_settings(load_settings())
    return _runtime


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_media_runtime(_: TaskiqState) -> None:
    """Close SDK and S3 clients when a worker stops."""
    global _runtime
    if _runtime is not None:
        await _runtime.aclose()
        _runtime = None


class TaskOutcome(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What a task returns (and what the job row keeps as its result)."""

    ok: bool
    asset: AssetRecord | None = None
    text: str | None = None
    provider: str | None = None
    model: str | None = None
    error_code: str | None = None
    error: str | None = None


async def _job(job_id: str | None, status: str, outcome: TaskOutcome | None = None) -> None:
    if job_id is None:
        return
    values: dict[Any, Any] = {Job.status: status, Job.updated_at: datetime.now(UTC)}
    if outcome is not None and outcome.ok:
        values[Job.result] = msgspec.json.encode(outcome).decode()
    if outcome is not None and not outcome.ok:
        values[Job.error] = outcome.error
    await Job.update(values).where(Job.id == uuid.UUID(job_id))


def _last_attempt(context: Context) -> bool:
    """True when no retry will follow a failure of this run."""
    if not any(isinstance(m, RETRY_MIDDLEWARES) for m in context.broker.middlewares):
        return True  # without a retry middleware an error would leave the job running forever
    labels = context.message.labels
    return int(labels.get("_retries", 0)) + 1 >= int(labels.get("max_retries", MAX_ATTEMPTS))


async def _run(
    job_id: str | None, context: Context, work: Callable[[], Awaitable[TaskOutcome]]
) -> dict[str, Any]:
    await _job(job_id, "running")
    try:
        outcome = await work()
    except StoryhubError as exc:
        if isinstance(exc, RETRYABLE) and not _last_attempt(context):
            log.warning("media task will be retried: %s", exc.message)
            raise
        outcome = TaskOutcome(ok=False, error_code=exc.code, error=exc.message)
    except Exception:
        if not _last_attempt(context):
            raise
        log.exception("media task failed on its last attempt")
        outcome = TaskOutcome(
            ok=False, error_code="internalError", error="Generation failed; try again later."
        )
    await _job(job_id, "done" if outcome.ok else "failed", outcome)
    result: dict[str, Any] = msgspec.to_builtins(outcome)
    return result


@broker.task(
    task_name="storyhub.media.generate",
    timeout=MEDIA_TASK_SECONDS,
    retry_on_error=True,
    max_retries=MAX_ATTEMPTS,
)
async def generate_media(
    story_id: str,
    seq: int | None,
    kind: str,
    job_id: str | None = None,
    context: Context = CURRENT_CONTEXT,
) -> dict[str, Any]:
    """Make (or find) the asset for (story, seq, kind); exactly one per key."""

    async def work() -> TaskOutcome:
        runtime = media_runtime()
        asset = await generate_asset(runtime, uuid.UUID(story_id), seq, kind)
        if _on_ready is not None:
            await _on_ready(asset)
        return TaskOutcome(ok=True, asset=asset, provider=asset.provider, model=asset.model)

    return await _run(job_id, context, work)


@broker.task(
    task_name="storyhub.media.narrate_turn",
    timeout=TEXT_TASK_SECONDS,
    retry_on_error=True,
    max_retries=MAX_ATTEMPTS,
)
async def write_narrator_turn(
    story_id: str,
    facts: list[str] | None = None,
    job_id: str | None = None,
    context: Context = CURRENT_CONTEXT,
) -> dict[str, Any]:
    """The AI narrator's next segment for the story (the actor checks and commits it)."""

    async def work() -> TaskOutcome:
        result = await write_ai_segment(media_runtime(), uuid.UUID(story_id), tuple(facts or ()))
        return TaskOutcome(ok=True, text=result.text, provider=result.provider, model=result.model)

    return await _run(job_id, context, work)
