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

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import msgspec
from taskiq import Context, TaskiqDepends, TaskiqEvents, TaskiqState

from storyhub.jobs.tables import Job
from storyhub.lib.blobs import StorageUnavailable
from storyhub.lib.broker import broker, task_settings, task_timeout
from storyhub.lib.errors import Conflict, StoryhubError
from storyhub.lib.retries import will_retry
from storyhub.media import announce, narration
from storyhub.media.generation import (
    AssetRecord,
    MediaRuntime,
    find_asset,
    generate_asset,
    write_ai_segment,
)
from storyhub.media.links import link_asset
from storyhub.media.providers.base import ProviderFailed
from storyhub.sessions.hooks import ContentFilter
from storyhub.settings import TASK_TIMEOUT_GRACE_SECONDS, load_settings

log = logging.getLogger("storyhub.media.tasks")

MAX_ATTEMPTS = 3
MEDIA_TASK_SECONDS = task_settings.media_seconds
"""Time limits (``STORYHUB_TASK_*_SECONDS``); settings keep them below the redelivery
time, so a task still running is never handed to a second worker."""
TEXT_TASK_SECONDS = task_settings.text_seconds
TIME_LIMITS = {
    "storyhub.media.generate": MEDIA_TASK_SECONDS,
    "storyhub.media.narrate_turn": TEXT_TASK_SECONDS,
}
RETRYABLE: tuple[type[BaseException], ...] = (ProviderFailed, StorageUnavailable, TimeoutError)

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


_shared_filter: ContentFilter | None = None


def share_prompt_filter(content_filter: ContentFilter | None) -> None:
    """Screen prompts with the API process's own filter (embedded mode runs tasks
    there), instead of building and warming a second pipeline."""
    global _shared_filter
    if _runtime is not None and _runtime.content_filter is _shared_filter:
        _runtime.content_filter = content_filter  # never keep a stopped app's filter
    _shared_filter = content_filter


def media_runtime() -> MediaRuntime:
    """This process's runtime; a worker builds it from the environment on first use."""
    global _runtime
    if _runtime is None:
        _runtime = MediaRuntime.from_settings(load_settings())
        _runtime.content_filter = _shared_filter
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
    """True when no retry will follow a failure of this run (the retry middleware's own rule)."""
    return not will_retry(context)


def _time_limit(context: Context) -> float:
    """This worker's limit for the task, or the sender's ``timeout`` label minus the grace if
    shorter: the work must stop (and say so) before TaskIQ's own timeout cancels it silently."""
    limit = float(TIME_LIMITS.get(context.message.task_name, MEDIA_TASK_SECONDS))
    label = context.message.labels.get("timeout")
    if label is not None:
        limit = min(limit, float(label) - TASK_TIMEOUT_GRACE_SECONDS)
    return max(limit, 1.0)


async def _run(
    job_id: str | None, context: Context, work: Callable[[], Awaitable[TaskOutcome]]
) -> dict[str, Any]:
    await _job(job_id, "running")
    limit = _time_limit(context)
    try:
        async with asyncio.timeout(limit):
            outcome = await work()
    except TimeoutError:
        if not _last_attempt(context):
            log.warning("media task ran out of time (%g s) and will be retried", limit)
            raise
        outcome = TaskOutcome(
            ok=False,
            error_code="timeLimit",
            error=f"Generation took longer than its time limit of {limit:g} seconds.",
        )
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
    timeout=task_timeout(MEDIA_TASK_SECONDS),
    retry_on_error=True,
    max_retries=MAX_ATTEMPTS,
)
async def generate_media(
    story_id: str,
    seq: int | None,
    kind: str,
    job_id: str | None = None,
    allow_remote: bool = True,
    requested_by: str | None = None,
    context: Context = CURRENT_CONTEXT,
) -> dict[str, Any]:
    """Make (or find) the asset for (story, seq, kind); exactly one per key.

    ``allow_remote`` is decided by the API from the author's consent (the
    worker does not second-guess it); ``requested_by`` is recorded as usage.
    The asset's route is linked on its segment (or story), the room gets
    ``mediaReady``; a final failure reaches the room as ``mediaFailed``.
    """
    story = uuid.UUID(story_id)
    requester = uuid.UUID(requested_by) if requested_by else None

    async def work() -> TaskOutcome:
        runtime = media_runtime()
        asset = await generate_asset(
            runtime, story, seq, kind, allow_remote=allow_remote, requested_by=requester
        )
        if not await link_asset(asset):
            raise Conflict(
                f"Segment {seq} was written again while its {kind} was being made;"
                " ask for it again to get one for the new text.",
                code="segmentRevised",
            )
        if kind == "video":  # the video made (or reused) the segment's image and narration
            for part in ("image", "audio"):
                made = await find_asset(story, seq, part)
                if made is not None:
                    await link_asset(made)
        await (_on_ready or announce.announce_ready)(asset)
        return TaskOutcome(ok=True, asset=asset, provider=asset.provider, model=asset.model)

    result = await _run(job_id, context, work)
    if not result["ok"]:
        await announce.announce_failed(
            story,
            seq,
            kind,
            code=result.get("errorCode") or "internalError",
            message=result.get("error") or "Generation failed.",
            task_id=job_id,
            requested_by=requested_by,
        )
    return result


@broker.task(
    task_name="storyhub.media.narrate_turn",
    timeout=task_timeout(TEXT_TASK_SECONDS),
    retry_on_error=True,
    max_retries=MAX_ATTEMPTS,
)
async def write_narrator_turn(
    story_id: str,
    facts: list[str] | None = None,
    job_id: str | None = None,
    allow_remote: bool = False,
    last_seq: int | None = None,
    attempt: int = 0,
    revise_seq: int | None = None,
    context: Context = CURRENT_CONTEXT,
) -> dict[str, Any]:
    """The AI narrator's next segment for the story (the actor checks and commits it).

    ``allow_remote`` is decided by the API from every member's consent: without
    it only offline providers run (fail closed: the default). With a turn token
    (``last_seq``, from the AI seat) the text, or a final failure, goes to the
    story's actor, which drops it if that turn has moved on.
    """
    story = uuid.UUID(story_id)

    async def work() -> TaskOutcome:
        base = media_runtime()
        runtime = replace(base, providers=base.providers_for(allow_remote=allow_remote))
        # A rewrite of a segment reads only what came before it; every new
        # attempt (after a blocked text) or rewrite asks for another telling.
        result = await write_ai_segment(
            runtime,
            story,
            tuple(facts or ()),
            before_seq=revise_seq,
            variant=attempt,
        )
        if last_seq is not None:
            await narration.report_text(
                story,
                result.text,
                last_seq=last_seq,
                attempt=attempt,
                revise_seq=revise_seq,
                provider=result.provider,
                model=result.model,
            )
        return TaskOutcome(ok=True, text=result.text, provider=result.provider, model=result.model)

    outcome = await _run(job_id, context, work)
    if last_seq is not None and not outcome["ok"]:
        await narration.report_failure(
            story, last_seq=last_seq, attempt=attempt, revise_seq=revise_seq
        )
    return outcome
