"""The mail outbox: enqueue, claim, and record the outcome of each attempt.

Several app nodes may drain one outbox. A node *claims* a due row with a
conditional ``UPDATE ... WHERE attempts = <what it read>``: of two nodes
that read the same row exactly one update matches. The claim also pushes
``next_attempt_at`` one lease into the future, so a node that dies while
sending leaves the row to be retried by another once the lease lapses.
Recipients and bodies are sealed with the field cipher, bound to the row (a
body may carry a consent link, which is a credential); a sent mail's body is
erased.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from storyhub.accounts.tables import MailOutbox
from storyhub.lib.crypto import FieldCipher
from storyhub.mail.message import MAX_ATTEMPTS

MAX_SUBJECT_LENGTH = 200


def _now() -> datetime:
    return datetime.now(UTC)


def recipient_context(mail_id: UUID) -> str:
    """Binds a sealed recipient to its outbox row."""
    return f"mail:{mail_id}"


def body_context(mail_id: UUID) -> str:
    """Binds a sealed body to its outbox row."""
    return f"mail-body:{mail_id}"


@dataclass(frozen=True)
class ClaimedMail:
    """A mail this node may now try to send."""

    id: UUID
    recipient: str
    subject: str
    body: str
    attempts: int
    """Including the attempt about to be made."""


async def enqueue(
    cipher: FieldCipher, recipient: str, subject: str, body: str, now: datetime | None = None
) -> UUID:
    """Queue one plain-text mail; the background sender picks it up."""
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValueError("mail subject too long")
    mail_id = uuid.uuid4()
    await MailOutbox.insert(
        MailOutbox(
            id=mail_id,
            recipient_enc=cipher.seal(recipient, context=recipient_context(mail_id)),
            subject=subject,
            body=cipher.seal(body, context=body_context(mail_id)),
            next_attempt_at=now or _now(),
            created_at=now or _now(),
        )
    )
    return mail_id


async def claim_due(
    cipher: FieldCipher, *, limit: int, lease_seconds: float, now: datetime | None = None
) -> list[ClaimedMail]:
    """Claim up to ``limit`` due mails for this node (see the module docstring)."""
    now = now or _now()
    due = (
        await MailOutbox.select(MailOutbox.id, MailOutbox.attempts)
        .where(
            (MailOutbox.sent == False)  # noqa: E712 - Piccolo builds SQL from ==
            & (MailOutbox.attempts < MAX_ATTEMPTS)
            & (MailOutbox.next_attempt_at <= now)
        )
        .order_by(MailOutbox.next_attempt_at)
        .limit(limit)
    )
    claimed: list[ClaimedMail] = []
    lease_until = now + timedelta(seconds=lease_seconds)
    for row in due:
        won = (
            await MailOutbox.update(
                {
                    MailOutbox.attempts: MailOutbox.attempts + 1,
                    MailOutbox.next_attempt_at: lease_until,
                }
            )
            .where(
                (MailOutbox.id == row["id"])
                & (MailOutbox.attempts == row["attempts"])
                & (MailOutbox.sent == False)  # noqa: E712
            )
            .returning(
                MailOutbox.id,
                MailOutbox.recipient_enc,
                MailOutbox.subject,
                MailOutbox.body,
                MailOutbox.attempts,
            )
        )
        if not won:
            continue  # another node claimed it first
        mail = won[0]
        claimed.append(
            ClaimedMail(
                id=mail["id"],
                recipient=cipher.open(mail["recipient_enc"], context=recipient_context(mail["id"])),
                subject=mail["subject"],
                body=cipher.open(mail["body"], context=body_context(mail["id"])),
                attempts=mail["attempts"],
            )
        )
    return claimed


async def mark_sent(mail_id: UUID) -> None:
    """The mail left storyhub: keep the row for the record, erase the body."""
    await MailOutbox.update(
        {MailOutbox.sent: True, MailOutbox.last_error: None, MailOutbox.body: ""}
    ).where(MailOutbox.id == mail_id)


async def mark_failed(mail_id: UUID, error: str, retry_at: datetime) -> None:
    """An attempt failed: try again at ``retry_at`` (unless attempts are used up)."""
    await MailOutbox.update(
        {MailOutbox.last_error: error[:500], MailOutbox.next_attempt_at: retry_at}
    ).where(MailOutbox.id == mail_id)


async def recent(limit: int = 50) -> list[dict[str, Any]]:
    """The newest outbox rows (no recipients), for ``storyhub admin mail --outbox``."""
    rows: list[dict[str, Any]] = (
        await MailOutbox.select(
            MailOutbox.id,
            MailOutbox.subject,
            MailOutbox.attempts,
            MailOutbox.sent,
            MailOutbox.next_attempt_at,
            MailOutbox.last_error,
            MailOutbox.created_at,
        )
        .order_by(MailOutbox.created_at, ascending=False)
        .limit(limit)
    )
    return rows
