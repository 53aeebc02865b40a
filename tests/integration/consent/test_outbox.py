"""The mail outbox against each real database: claims, retries with backoff, delivery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from storyhub.accounts.tables import MailOutbox
from storyhub.lib.crypto import FieldCipher
from storyhub.mail import outbox
from storyhub.mail.dispatcher import MailDispatcher
from storyhub.mail.message import MAX_ATTEMPTS
from storyhub.mail.senders import FolderSender, SmtpSender, list_folder
from storyhub.settings import SmtpSettings
from tests.conftest import TEST_SECRET
from tests.support.mailbox import Mailbox, body_text

CIPHER = FieldCipher(TEST_SECRET)
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class FlakySender:
    """Fails the first ``failures`` sends, then keeps what it is given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("smtp is down")
        self.sent.append(message)

    def describe(self) -> str:
        return "flaky"


@pytest.fixture(autouse=True)
async def _empty_outbox(db: Any) -> None:
    await MailOutbox.delete(force=True)


async def _row(mail_id: UUID) -> dict[str, Any]:
    row = await MailOutbox.select().where(MailOutbox.id == mail_id).first()
    assert row is not None
    return row


class TestClaims:
    async def test_recipient_is_sealed_and_bound_to_the_row(self, db: Any) -> None:
        mail_id = await outbox.enqueue(CIPHER, "parent@example.test", "Hi", "Body", now=T0)
        row = await _row(mail_id)
        assert "parent@example.test" not in row["recipient_enc"]
        assert "Body" not in row["body"]
        assert CIPHER.open(row["recipient_enc"], context=outbox.recipient_context(mail_id)) == (
            "parent@example.test"
        )

    async def test_only_due_mail_is_claimed_and_only_once(self, db: Any) -> None:
        due = await outbox.enqueue(CIPHER, "a@example.test", "A", "x", now=T0)
        await outbox.enqueue(CIPHER, "b@example.test", "B", "x", now=T0 + timedelta(hours=1))
        claimed = await outbox.claim_due(CIPHER, limit=10, lease_seconds=60, now=T0)
        assert [(m.id, m.recipient, m.attempts) for m in claimed] == [(due, "a@example.test", 1)]
        # Leased: neither this node nor another claims it again before the lease lapses.
        assert await outbox.claim_due(CIPHER, limit=10, lease_seconds=60, now=T0) == []
        later = T0 + timedelta(seconds=61)
        again = await outbox.claim_due(CIPHER, limit=10, lease_seconds=60, now=later)
        assert [(m.id, m.attempts) for m in again] == [(due, 2)]

    async def test_concurrent_claimers_split_the_mail(self, db: Any) -> None:
        ids = {
            await outbox.enqueue(CIPHER, f"{i}@example.test", "S", "x", now=T0) for i in range(8)
        }
        results = await asyncio.gather(
            *(outbox.claim_due(CIPHER, limit=8, lease_seconds=60, now=T0) for _ in range(4))
        )
        claimed = [mail.id for batch in results for mail in batch]
        assert sorted(claimed) == sorted(ids)  # every mail once, none twice

    async def test_sent_and_exhausted_mail_is_not_claimed(self, db: Any) -> None:
        sent = await outbox.enqueue(CIPHER, "a@example.test", "A", "x", now=T0)
        await outbox.mark_sent(sent)
        tired = await outbox.enqueue(CIPHER, "b@example.test", "B", "x", now=T0)
        await MailOutbox.update({MailOutbox.attempts: MAX_ATTEMPTS}).where(MailOutbox.id == tired)
        assert await outbox.claim_due(CIPHER, limit=10, lease_seconds=60, now=T0) == []


class TestDispatcher:
    async def test_failures_back_off_exponentially_then_succeed(self, db: Any) -> None:
        clock = Clock(T0)
        sender = FlakySender(failures=2)
        dispatcher = MailDispatcher(
            sender, CIPHER, "storyhub <no-reply@example.test>", now=clock, jitter=lambda: 0.0
        )
        mail_id = await outbox.enqueue(CIPHER, "p@example.test", "Consent", "Body", now=T0)

        assert await dispatcher.run_once() == 0
        row = await _row(mail_id)
        assert (row["attempts"], row["sent"]) == (1, False)
        assert "smtp is down" in row["last_error"]
        assert row["next_attempt_at"] == T0 + timedelta(seconds=30)

        clock.at = T0 + timedelta(seconds=29)
        assert await dispatcher.run_once() == 0  # not due yet
        assert (await _row(mail_id))["attempts"] == 1

        clock.at = T0 + timedelta(seconds=30)
        assert await dispatcher.run_once() == 0
        row = await _row(mail_id)
        assert row["attempts"] == 2
        assert row["next_attempt_at"] == clock.at + timedelta(seconds=60)

        clock.at += timedelta(seconds=60)
        assert await dispatcher.run_once() == 1
        row = await _row(mail_id)
        assert (row["attempts"], row["sent"], row["last_error"]) == (3, True, None)
        assert row["body"] == ""  # a sent mail's body (maybe a consent link) is erased
        [message] = sender.sent
        assert message["To"] == "p@example.test"
        assert message["Subject"] == "Consent"
        assert message["X-Storyhub-Outbox-Id"] == str(mail_id)

    async def test_real_smtp_delivery(self, db: Any) -> None:
        mailbox = Mailbox()
        mailbox.start()
        try:
            sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=mailbox.port, starttls=False))
            dispatcher = MailDispatcher(sender, CIPHER, "storyhub <no-reply@example.test>")
            await outbox.enqueue(CIPHER, "real@example.test", "Über", "Grüße\nfrom storyhub")
            assert await dispatcher.run_once() == 1
            received = await asyncio.to_thread(mailbox.wait_for, "real@example.test", 10)
            assert received["Subject"] == "Über"
            assert body_text(received).replace("\r\n", "\n").strip() == "Grüße\nfrom storyhub"
        finally:
            mailbox.stop()

    async def test_unreachable_smtp_is_retried_not_lost(self, db: Any) -> None:
        from tests.support.services import free_port

        sender = SmtpSender(
            SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False), timeout=2
        )
        dispatcher = MailDispatcher(sender, CIPHER, "storyhub <no-reply@example.test>")
        mail_id = await outbox.enqueue(CIPHER, "x@example.test", "S", "B")
        assert await dispatcher.run_once() == 0
        row = await _row(mail_id)
        assert (row["sent"], row["attempts"]) == (False, 1)
        assert row["last_error"]

    async def test_folder_sender_writes_listable_eml(self, db: Any, tmp_path: Path) -> None:
        dispatcher = MailDispatcher(
            FolderSender(tmp_path / "mail"), CIPHER, "storyhub <no-reply@example.test>"
        )
        first = await outbox.enqueue(CIPHER, "one@example.test", "First", "1")
        assert await dispatcher.run_once() == 1
        second = await outbox.enqueue(CIPHER, "two@example.test", "Second", "2")
        assert await dispatcher.run_once() == 1
        listed = list_folder(tmp_path / "mail")
        assert [(m.id, m.recipient, m.subject) for m in listed] == [
            (str(second), "two@example.test", "Second"),
            (str(first), "one@example.test", "First"),
        ]
        assert not list((tmp_path / "mail").glob(".tmp-*"))
