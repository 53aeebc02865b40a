"""What is due for deletion, given the time and the retention settings (no I/O).

The service (:mod:`storyhub.retention.service`) asks these functions and
carries out the answers; keeping the rules here makes the schedule in
``docs/safety.md`` testable without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from storyhub.settings import RetentionSettings

ACCOUNT_DELETION: Final = "accountDeletion"
"""``jobs.kind`` of a queued account deletion (written by consent revocation)."""
PENDING_DELETION_STATUSES: Final[tuple[str, ...]] = ("queued", "running")
FINISHED_JOB_STATUSES: Final[tuple[str, ...]] = ("done", "failed")

REMOVED_TEXT: Final = "[removed]"
"""What a deleted child's segment in someone else's story says from then on."""
TOMBSTONE_NAME: Final = "Former member"
"""The display name a deleted account keeps, so segments it wrote are not shown as the AI's."""
TOMBSTONE_DOMAIN: Final = "deleted.storyhub.invalid"

ROLE_PREFERENCE: Final[dict[str, int]] = {"editor": 0, "author": 1, "viewer": 2}
"""Who inherits a shared story first when its owner is deleted."""


@dataclass(frozen=True)
class Cutoffs:
    """Rows older than these instants are due (strictly before)."""

    deletion_requested: datetime
    """accountDeletion jobs created before this run now."""
    unconsented_registered: datetime
    """Accounts still ``pendingConsent`` created before this are deleted."""
    refresh_token: datetime
    """Refresh tokens that expired or were revoked before this are purged."""
    sent_mail: datetime
    failed_mail: datetime
    moderation_decided: datetime
    """Decided moderation items lose their text when decided before this."""
    verification_updated: datetime
    """ID-document requests left undecided since before this expire."""
    job_updated: datetime
    audit_ip: datetime
    """Audit events recorded before this lose their IP address."""


def cutoffs(settings: RetentionSettings, now: datetime) -> Cutoffs:
    """Every cutoff of one retention pass at ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return Cutoffs(
        deletion_requested=now - timedelta(hours=settings.deletion_grace_hours),
        unconsented_registered=now - timedelta(days=settings.unconsented_days),
        refresh_token=now - timedelta(days=settings.refresh_token_days),
        sent_mail=now - timedelta(days=settings.sent_mail_days),
        failed_mail=now - timedelta(days=settings.failed_mail_days),
        moderation_decided=now - timedelta(days=settings.moderation_days),
        verification_updated=now - timedelta(days=settings.verification_days),
        job_updated=now - timedelta(days=settings.job_days),
        audit_ip=now - timedelta(days=settings.audit_ip_days),
    )


def deletion_due(requested_at: datetime, status: str, cut: Cutoffs) -> bool:
    """An account deletion runs once its grace period is over, until it is done."""
    return status in PENDING_DELETION_STATUSES and requested_at <= cut.deletion_requested


def job_purgeable(kind: str, status: str, updated_at: datetime, cut: Cutoffs) -> bool:
    """Old job rows go, except account deletions that still have to run."""
    if updated_at >= cut.job_updated:
        return False
    return not (kind == ACCOUNT_DELETION and status not in FINISHED_JOB_STATUSES)


def refresh_token_purgeable(
    expires_at: datetime, revoked_at: datetime | None, cut: Cutoffs
) -> bool:
    """Expired or revoked long enough ago; a used but live token stays (reuse detection)."""
    return expires_at < cut.refresh_token or (
        revoked_at is not None and revoked_at < cut.refresh_token
    )


def mail_purgeable(
    *, sent: bool, attempts: int, max_attempts: int, created_at: datetime, cut: Cutoffs
) -> bool:
    """Sent mail after one period, mail that gave up after another; queued mail never."""
    if sent:
        return created_at < cut.sent_mail
    return attempts >= max_attempts and created_at < cut.failed_mail


@dataclass(frozen=True)
class Member:
    """Another collaborator of a story whose owner is being deleted."""

    user_id: UUID
    role: str
    joined_order: int
    """Lower joined first (the collaborator row id)."""
    wrote_segments: bool


def successor(members: Sequence[Member]) -> UUID | None:
    """Who owns a deleted owner's story next; ``None``: the story goes with its owner.

    Never lose a story: when someone else wrote part of it, the story stays
    (the deleted owner's own segments are erased) and passes to the member
    who wrote, editors first, then the earliest to join. When only the
    owner (and the AI narrator) wrote, the story is the owner's data alone.
    """
    writers = [m for m in members if m.wrote_segments]
    if not writers:
        return None
    best = min(writers, key=lambda m: (ROLE_PREFERENCE.get(m.role, 3), m.joined_order))
    return best.user_id


def tombstone_email(user_id: UUID) -> str:
    """The login address of a deleted account: unique, undeliverable, not personal."""
    return f"deleted-{user_id.hex}@{TOMBSTONE_DOMAIN}"


def is_tombstone(email: str) -> bool:
    return email.endswith("@" + TOMBSTONE_DOMAIN)


def loop_enabled(settings: RetentionSettings) -> bool:
    """The API process runs retention passes unless the interval is 0."""
    return settings.interval_seconds > 0


def first_pass_delay(settings: RetentionSettings) -> float:
    """Seconds before the first pass: soon after start, so frequent restarts never starve it."""
    return float(min(settings.interval_seconds, 30))
