"""Pure pieces of mail: building a message and the retry schedule."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

MAX_ATTEMPTS = 8
"""After this many failed attempts a mail is left unsent (visible as ``failed``)."""
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0


def backoff_seconds(attempts: int, jitter: float = 0.0) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1-based).

    Exponential: 30 s, 60 s, 120 s ... capped at one hour. ``jitter`` in
    [0, 1) stretches the delay by up to 25 % so that mails that failed
    together (an SMTP outage) do not all come back at the same instant.
    """
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    # Cap the exponent too: 2 ** attempts grows without bound for huge counts.
    delay: float = min(BACKOFF_BASE_SECONDS * 2.0 ** min(attempts - 1, 32), BACKOFF_CAP_SECONDS)
    return delay * (1.0 + 0.25 * jitter)


def random_jitter() -> float:
    """A jitter value for :func:`backoff_seconds` (not for security)."""
    return random.random()  # noqa: S311 - spreading retries, not a secret


def build_message(
    *,
    mail_from: str,
    recipient: str,
    subject: str,
    body: str,
    message_id: str,
    at: datetime | None = None,
) -> EmailMessage:
    """A plain-text UTF-8 message; ``message_id`` is the outbox id (stable across retries)."""
    for value in (recipient, subject, mail_from):
        if "\r" in value or "\n" in value:
            raise ValueError("mail headers must not contain line breaks")
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(at or datetime.now(UTC))
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "storyhub.invalid"
    message["Message-ID"] = make_msgid(idstring=message_id, domain=domain)
    message["X-Storyhub-Outbox-Id"] = message_id
    message.set_content(body)
    return message
