"""One retention pass: queue unconsented accounts, delete due accounts, run the purges.

A pass is idempotent (a second pass right after the first finds nothing)
and holds a lock so that only one node runs it at a time in services mode
(a PostgreSQL advisory lock on a side connection, released when that
connection closes, so a crashed node never leaves it held). Embedded mode
has one process; SQLite serialises writers anyway.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.postgres import PostgresEngine

from storyhub.accounts.tables import User
from storyhub.audit import service as audit
from storyhub.jobs.tables import Job
from storyhub.lib.blobs import BlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict
from storyhub.retention import accounts, policy, purges
from storyhub.settings import RetentionSettings

log = logging.getLogger("storyhub.retention")

RETENTION_LOCK_KEY = 7_316_002
"""Advisory lock key shared by every storyhub process (migrations use 7_316_001)."""


class Outcome(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    """One line of a pass's report: what was (or, in a dry run, would be) removed."""

    kind: str
    count: int
    dry_run: bool = False
    job_id: UUID | None = None
    user_id: UUID | None = None
    counts: dict[str, int] | None = None
    older_than_days: int | None = None


class RetentionBusy(Conflict):
    code = "retentionBusy"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@contextlib.asynccontextmanager
async def exclusive() -> AsyncIterator[bool]:
    """``True`` inside when this process may run a pass; ``False`` when another node is."""
    engine = User._meta.db
    if not isinstance(engine, PostgresEngine):
        yield True
        return
    connection = await engine.get_new_connection()
    try:
        got = bool(await connection.fetchval("SELECT pg_try_advisory_lock($1)", RETENTION_LOCK_KEY))
        try:
            yield got
        finally:
            if got:
                await connection.execute("SELECT pg_advisory_unlock($1)", RETENTION_LOCK_KEY)
    finally:
        await connection.close()


async def _due_deletions(cut: policy.Cutoffs) -> list[dict[str, Any]]:
    rows = (
        await Job.select(Job.id, Job.owner, Job.status, Job.created_at, Job.result)
        .where(
            (Job.kind == policy.ACCOUNT_DELETION)
            & Job.status.is_in(list(policy.PENDING_DELETION_STATUSES))
        )
        .order_by(Job.created_at)
        .output(load_json=True)
    )
    return [
        row for row in rows if policy.deletion_due(_aware(row["created_at"]), row["status"], cut)
    ]


async def run_pass(
    settings: RetentionSettings,
    *,
    cipher: FieldCipher,
    blobs: BlobStore,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[Outcome]:
    """Run (or with ``dry_run`` only report) everything due at ``now``; no lock taken."""
    now = now or _now()
    cut = policy.cutoffs(settings, now)
    report: list[Outcome] = []

    unconsented = await purges.unconsented_accounts(cut)
    queued = 0
    for user_id in unconsented:
        if dry_run or await accounts.queue_deletion(user_id, "consentNotGiven", now):
            queued += 1
    report.append(
        Outcome(
            kind="unconsentedAccountsQueued",
            count=queued,
            dry_run=dry_run,
            older_than_days=settings.unconsented_days,
        )
    )

    for job in await _due_deletions(cut):
        plan = await accounts.plan_account_deletion(job["owner"], job["id"], cipher)
        if dry_run:
            counts = plan.counts()
        else:
            try:
                counts = await accounts.apply_account_deletion(
                    plan, blobs=blobs, result=accounts.job_result(job["result"]), now=now
                )
            except Exception:
                # Leave the job queued: the next pass tries again.
                log.exception("account deletion failed", extra={"jobId": str(job["id"])})
                continue
            log.info("account deleted", extra={"jobId": str(job["id"]), **counts})
        report.append(
            Outcome(
                kind="accountDeleted",
                count=1,
                dry_run=dry_run,
                job_id=job["id"],
                user_id=job["owner"],
                counts=counts,
            )
        )

    scheduled: list[tuple[str, int, int]] = [
        (
            "sessionRecords",
            await purges.refresh_tokens(cut, dry_run=dry_run),
            settings.refresh_token_days,
        ),
        ("sentMail", await purges.sent_mail(cut, dry_run=dry_run), settings.sent_mail_days),
        ("failedMail", await purges.failed_mail(cut, dry_run=dry_run), settings.failed_mail_days),
        (
            "moderationTexts",
            await purges.moderation_texts(cut, dry_run=dry_run),
            settings.moderation_days,
        ),
        (
            "verificationDocuments",
            await purges.verification_documents(
                cut, now, cipher=cipher, blobs=blobs, dry_run=dry_run
            ),
            settings.verification_days,
        ),
        ("jobs", await purges.old_jobs(cut, dry_run=dry_run), settings.job_days),
        (
            "auditAddresses",
            await purges.audit_addresses(cut, dry_run=dry_run),
            settings.audit_ip_days,
        ),
    ]
    for kind, count, days in scheduled:
        report.append(Outcome(kind=kind, count=count, dry_run=dry_run, older_than_days=days))
    purged = {kind: count for kind, count, _ in scheduled if count}
    if purged and not dry_run:
        # One record per pass that removed something; a quiet pass leaves no trace.
        await audit.record("retention.purged", subject="retention", data=purged)
    return report


async def run_exclusive(
    settings: RetentionSettings,
    *,
    cipher: FieldCipher,
    blobs: BlobStore,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[Outcome] | None:
    """:func:`run_pass` under the cross-node lock; ``None`` when another node holds it."""
    async with exclusive() as mine:
        if not mine:
            return None
        return await run_pass(settings, cipher=cipher, blobs=blobs, now=now, dry_run=dry_run)
