"""The background sender: one loop per app node that drains the outbox.

It claims due mails (safe with several nodes, see :mod:`storyhub.mail.outbox`),
hands each to the sender, and records success or schedules a retry with
exponential backoff. Shutdown cancels the loop; a mail interrupted mid-send
is retried after its lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from litestar import Litestar

from storyhub.lib.crypto import FieldCipher
from storyhub.mail import outbox
from storyhub.mail.message import MAX_ATTEMPTS, backoff_seconds, build_message, random_jitter
from storyhub.mail.senders import MailSender, build_sender

log = logging.getLogger("storyhub.mail")


def _now() -> datetime:
    return datetime.now(UTC)


class MailDispatcher:
    """Drains the outbox through one :class:`MailSender`."""

    def __init__(
        self,
        sender: MailSender,
        cipher: FieldCipher,
        mail_from: str,
        *,
        poll_seconds: float = 1.0,
        batch: int = 20,
        lease_seconds: float = 120.0,
        now: Callable[[], datetime] = _now,
        jitter: Callable[[], float] = random_jitter,
    ) -> None:
        self._sender = sender
        self._cipher = cipher
        self._mail_from = mail_from
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._lease_seconds = lease_seconds
        self._now = now
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim and try every due mail once; the number sent."""
        claimed = await outbox.claim_due(
            self._cipher, limit=self._batch, lease_seconds=self._lease_seconds, now=self._now()
        )
        sent = 0
        for mail in claimed:
            try:
                message = build_message(
                    mail_from=self._mail_from,
                    recipient=mail.recipient,
                    subject=mail.subject,
                    body=mail.body,
                    message_id=str(mail.id),
                )
                await self._sender.send(message)
            except Exception as exc:  # any failure is retried; the loop goes on
                error = f"{type(exc).__name__}: {exc}"
                retry_at = self._now() + timedelta(
                    seconds=backoff_seconds(mail.attempts, self._jitter())
                )
                await outbox.mark_failed(mail.id, error, retry_at)
                log.warning(
                    "mail attempt failed",
                    extra={
                        "mailId": str(mail.id),
                        "attempt": mail.attempts,
                        "givingUp": mail.attempts >= MAX_ATTEMPTS,
                        "error": error[:200],
                    },
                )
                continue
            await outbox.mark_sent(mail.id)
            sent += 1
            log.info("mail sent", extra={"mailId": str(mail.id), "attempt": mail.attempts})
        return sent

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # The database may be briefly away; the next poll tries again.
                log.exception("mail dispatcher pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        """Start the loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="mail-dispatcher")

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


@asynccontextmanager
async def mail_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run one dispatcher per app; it stops before the database pool closes."""
    services = app.state.services
    sender = build_sender(services.settings)
    dispatcher = MailDispatcher(sender, services.cipher, services.settings.mail_from)
    app.state.mail = dispatcher
    log.info("mail dispatcher started", extra={"to": sender.describe()})
    dispatcher.start()
    try:
        yield
    finally:
        await dispatcher.stop()
