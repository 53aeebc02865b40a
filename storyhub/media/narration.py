"""How the narrator task's text (or its failure) reaches the story's actor.

Through the process's task notifier (:mod:`storyhub.sessions.task_notifier`):
straight to the actor in the API process, through Valkey from a worker.
Every report carries the turn token (the story's last seq when the AI's turn
began) and the attempt, so the actor can drop text for a turn that moved on.
"""

from __future__ import annotations

import logging
import uuid

from storyhub.sessions.task_notifier import task_notifier

log = logging.getLogger("storyhub.media.narration")


async def report_text(
    story_id: uuid.UUID,
    text: str,
    *,
    last_seq: int,
    attempt: int,
    revise_seq: int | None,
    provider: str,
    model: str,
) -> None:
    """Hand the narrator's text to the story's actor (which filters and commits it).

    Raises when the notifier fails, so the task is retried rather than lost.
    """
    notifier = task_notifier()
    if notifier is None:
        log.warning("narrator text has no actor to go to", extra={"storyId": str(story_id)})
        return
    await notifier.ai_text(
        story_id,
        text,
        last_seq=last_seq,
        attempt=attempt,
        revise_seq=revise_seq,
        provider=provider,
        model=model,
    )


async def report_failure(
    story_id: uuid.UUID, *, last_seq: int, attempt: int, revise_seq: int | None
) -> None:
    """Tell the actor the narrator gave up on this turn (best effort: the deadline
    skips the seat anyway)."""
    notifier = task_notifier()
    if notifier is None:
        return
    try:
        await notifier.ai_failed(
            story_id, last_seq=last_seq, attempt=attempt, revise_seq=revise_seq
        )
    except Exception:
        log.exception("narrator failure could not be reported", extra={"storyId": str(story_id)})
