"""The scheduled purges: old tokens, mail, moderation texts, ID documents, job rows, audit IPs.

Each purge counts what is due and, unless it is a dry run, removes it. The
``WHERE`` clauses say in SQL what :mod:`storyhub.retention.policy` says in
Python (its unit tests pin the rules; the integration tests pin these).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from storyhub.accounts.tables import AgeVerificationRequest, MailOutbox, RefreshToken, User
from storyhub.accounts.verification import evidence_context
from storyhub.audit.tables import AuditEvent
from storyhub.jobs.tables import Job
from storyhub.lib.blobs import BlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.mail.message import MAX_ATTEMPTS
from storyhub.retention import policy
from storyhub.safety.tables import ModerationItem

log = logging.getLogger("storyhub.retention")

# Mirrors storyhub.safety.moderation (not imported: that module pulls in the
# whole filter pipeline, which a retention pass does not need).
MODERATION_FINAL_STATUSES = ("upheld", "released")
MODERATION_ERASED = ""
DOCUMENT_OPEN_STATUSES = ("awaitingDocument", "inReview")
VERIFICATION_EXPIRED = "expired"


async def refresh_tokens(cut: policy.Cutoffs, *, dry_run: bool) -> int:
    due = (RefreshToken.expires_at < cut.refresh_token) | (
        RefreshToken.revoked_at.is_not_null() & (RefreshToken.revoked_at < cut.refresh_token)
    )
    count: int = await RefreshToken.count().where(due)
    if count and not dry_run:
        await RefreshToken.delete().where(due)
    return count


async def sent_mail(cut: policy.Cutoffs, *, dry_run: bool) -> int:
    due = (MailOutbox.sent == True) & (MailOutbox.created_at < cut.sent_mail)  # noqa: E712
    count: int = await MailOutbox.count().where(due)
    if count and not dry_run:
        await MailOutbox.delete().where(due)
    return count


async def failed_mail(cut: policy.Cutoffs, *, dry_run: bool) -> int:
    due = (
        (MailOutbox.sent == False)  # noqa: E712 - Piccolo builds SQL from ==
        & (MailOutbox.attempts >= MAX_ATTEMPTS)
        & (MailOutbox.created_at < cut.failed_mail)
    )
    count: int = await MailOutbox.count().where(due)
    if count and not dry_run:
        await MailOutbox.delete().where(due)
    return count


async def moderation_texts(cut: policy.Cutoffs, *, dry_run: bool) -> int:
    """Erase the sealed text of decided items; the decision record stays."""
    due = (
        ModerationItem.status.is_in(list(MODERATION_FINAL_STATUSES))
        & (ModerationItem.decided_at < cut.moderation_decided)
        & (ModerationItem.content != MODERATION_ERASED)
    )
    if dry_run:
        counted: int = await ModerationItem.count().where(due)
        return counted
    erased = (
        await ModerationItem.update({ModerationItem.content: MODERATION_ERASED})
        .where(due)
        .returning(ModerationItem.id)
    )
    return len(erased)


def _document_key(cipher: FieldCipher, row: dict[str, Any]) -> str | None:
    sealed = row["evidence_key_enc"]
    if not sealed:
        return None
    try:
        key: str | None = json.loads(cipher.open(sealed, context=evidence_context(row["id"])))[
            "key"
        ]
    except (ValueError, KeyError):
        log.warning("verification evidence unreadable", extra={"requestId": str(row["id"])})
        return None
    return key


def _history(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


async def verification_documents(
    cut: policy.Cutoffs,
    now: datetime,
    *,
    cipher: FieldCipher,
    blobs: BlobStore,
    dry_run: bool,
) -> int:
    """Expire ID-document requests nobody decided in time, and delete every stray document.

    A decided request whose document is still stored (the delete at the
    decision failed) gets it deleted now.
    """
    stale = (
        (AgeVerificationRequest.method == "idDocument")
        & AgeVerificationRequest.status.is_in(list(DOCUMENT_OPEN_STATUSES))
        & (AgeVerificationRequest.updated_at < cut.verification_updated)
    )
    leftover = (
        AgeVerificationRequest.status.not_in([*DOCUMENT_OPEN_STATUSES, "pending"])
        & AgeVerificationRequest.evidence_key_enc.is_not_null()
    )
    rows = (
        await AgeVerificationRequest.select(
            AgeVerificationRequest.id,
            AgeVerificationRequest.status,
            AgeVerificationRequest.evidence_key_enc,
            AgeVerificationRequest.history,
        )
        .where(stale | leftover)
        .output(load_json=True)
    )
    if dry_run:
        return len(rows)
    for row in rows:
        key = _document_key(cipher, row)
        if key is not None:
            # Delete first, forget the key second (as verification.decide does).
            await blobs.delete(key)
        changes: dict[Any, Any] = {AgeVerificationRequest.evidence_key_enc: None}
        condition = AgeVerificationRequest.id == row["id"]
        if row["status"] in DOCUMENT_OPEN_STATUSES:
            history = _history(row["history"])
            history.append(
                {
                    "status": VERIFICATION_EXPIRED,
                    "at": now.isoformat(),
                    "by": "retention",
                    "note": "Not reviewed in time; the document was deleted.",
                }
            )
            changes.update(
                {
                    AgeVerificationRequest.status: VERIFICATION_EXPIRED,
                    AgeVerificationRequest.history: history,
                    AgeVerificationRequest.updated_at: now,
                }
            )
            # A moderator deciding at this very moment wins.
            condition = condition & (AgeVerificationRequest.status == row["status"])
        await AgeVerificationRequest.update(changes).where(condition)
    return len(rows)


async def old_jobs(cut: policy.Cutoffs, *, dry_run: bool) -> int:
    due = (Job.updated_at < cut.job_updated) & (
        (Job.kind != policy.ACCOUNT_DELETION) | Job.status.is_in(list(policy.FINISHED_JOB_STATUSES))
    )
    count: int = await Job.count().where(due)
    if count and not dry_run:
        await Job.delete().where(due)
    return count


async def audit_addresses(cut: policy.Cutoffs, *, dry_run: bool) -> int:
    """Erase the IP address of old audit events; who did what, and when, stays."""
    due = (AuditEvent.at < cut.audit_ip) & AuditEvent.ip.is_not_null()
    if dry_run:
        counted: int = await AuditEvent.count().where(due)
        return counted
    erased = await AuditEvent.update({AuditEvent.ip: None}).where(due).returning(AuditEvent.id)
    return len(erased)


async def unconsented_accounts(cut: policy.Cutoffs) -> list[Any]:
    """Accounts still waiting for a parent's consent since before the cutoff."""
    rows = await User.select(User.id).where(
        (User.status == "pendingConsent") & (User.created_at < cut.unconsented_registered)
    )
    return [row["id"] for row in rows]
