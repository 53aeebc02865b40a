"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests that follow mail."""

from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.services import free_port

CONSENT_LINK = re.compile(r"https?://\S+/consent/(shc_[A-Za-z0-9_-]+)")


class _Keep:
    """aiosmtpd handler: parse and keep each message."""

    def __init__(self, box: Mailbox) -> None:
        self._box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self._box.add(list(envelope.rcpt_tos), parsed)
        return "250 OK"


class Mailbox:
    """Messages an aiosmtpd server on 127.0.0.1 received, with a waiting lookup."""

    def __init__(self) -> None:
        self.port = free_port()
        self._messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        self._controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def add(self, recipients: list[str], message: EmailMessage) -> None:
        with self._lock:
            self._messages.append((recipients, message))

    def wait_for(self, recipient: str, timeout: float = 20.0) -> EmailMessage:
        """The first message to ``recipient``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for recipients, message in self._messages:
                    if recipient.lower() in (r.lower() for r in recipients):
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {recipient} within {timeout}s")

    def count_to(self, recipient: str) -> int:
        with self._lock:
            return sum(
                1 for rs, _ in self._messages if recipient.lower() in (r.lower() for r in rs)
            )


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def consent_token(text: str) -> str:
    """The token of the consent link in a mail body."""
    found = CONSENT_LINK.search(text)
    assert found is not None, text
    return found.group(1)
