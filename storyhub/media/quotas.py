"""Generation quotas over a rolling day: pure rules, no I/O.

Every media request (image, audio, video, cover) is a ``jobs`` row of kind
``media:<kind>``; a request is refused when the caller, or the story, already
made as many requests as its limit allows within the last :data:`WINDOW`.
The caller passes the creation times of those rows; nothing here reads a
clock or a database.

Every request counts, also one for an asset that already exists (it is
answered quickly, but it is still a request), and also one that failed:
otherwise repeating a failing request would be free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec

WINDOW: Final = timedelta(hours=24)
JOB_KIND_PREFIX: Final = "media:"
QuotaScope = Literal["user", "story"]


def job_kind(kind: str) -> str:
    """The ``jobs.kind`` of a request for media of ``kind``."""
    return JOB_KIND_PREFIX + kind


def media_kind_of(job_kind: str) -> str | None:
    """The media kind a ``jobs.kind`` names, or ``None`` for other jobs."""
    if not job_kind.startswith(JOB_KIND_PREFIX):
        return None
    return job_kind[len(JOB_KIND_PREFIX) :]


class QuotaLimits(msgspec.Struct, frozen=True):
    per_user: int
    per_story: int


class QuotaDenial(msgspec.Struct, frozen=True):
    """Why a request is refused and when asking again can succeed."""

    scope: QuotaScope
    limit: int
    retry_after_seconds: int
    message: str


def window_start(now: datetime) -> datetime:
    """Requests created after this moment count against the limits."""
    return now - WINDOW


def seconds_until_free(times: Sequence[datetime], limit: int, now: datetime) -> int:
    """Seconds until fewer than ``limit`` of ``times`` fall within the window (at least 1).

    ``times`` are the requests inside the window. A slot frees when the
    request that puts the count at the limit ages out: the
    ``len(times) - limit``-th oldest.
    """
    ordered = sorted(times)
    if limit <= 0 or not ordered:
        # A limit of 0 never frees a slot; say "a day" rather than "never".
        return int(WINDOW.total_seconds())
    index = max(0, len(ordered) - limit)
    wait = (ordered[index] + WINDOW - now).total_seconds()
    return max(1, math.ceil(wait))


def _denial(
    scope: QuotaScope, times: Sequence[datetime], limit: int, now: datetime
) -> QuotaDenial | None:
    if len(times) < limit:
        return None
    retry = seconds_until_free(times, limit, now)
    whose = "You have" if scope == "user" else "This story has"
    message = (
        f"{whose} reached the limit of {limit} media requests in 24 hours; "
        f"try again in {_human(retry)}."
    )
    return QuotaDenial(scope=scope, limit=limit, retry_after_seconds=retry, message=message)


def _human(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


def quota_denial(
    user_times: Sequence[datetime],
    story_times: Sequence[datetime],
    limits: QuotaLimits,
    now: datetime,
) -> QuotaDenial | None:
    """Why one more request is refused (the caller's limit first), or ``None``.

    ``user_times``/``story_times``: creation times of the caller's and the
    story's media requests since :func:`window_start`.
    """
    return _denial("user", user_times, limits.per_user, now) or _denial(
        "story", story_times, limits.per_story, now
    )


def count_by_kind(job_kinds: Iterable[str]) -> dict[str, int]:
    """How many media requests of each kind (other jobs are ignored)."""
    counts: dict[str, int] = {}
    for name in job_kinds:
        kind = media_kind_of(name)
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
    return counts
