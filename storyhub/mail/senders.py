"""Where a mail goes: a real SMTP server (services mode) or a folder (embedded)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol

from storyhub.settings import Settings, SmtpSettings

SMTP_TIMEOUT_SECONDS = 30.0


class MailSender(Protocol):
    """Delivers one message or raises (the outbox then retries with backoff)."""

    async def send(self, message: EmailMessage) -> None: ...

    def describe(self) -> str:
        """Where mail goes, for logs (never credentials)."""
        ...


class SmtpSender:
    """Submits mail to an SMTP server with aiosmtplib (STARTTLS and AUTH when configured)."""

    def __init__(self, smtp: SmtpSettings, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self._smtp = smtp
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        import aiosmtplib

        await aiosmtplib.send(
            message,
            hostname=self._smtp.host,
            port=self._smtp.port,
            username=self._smtp.username,
            password=self._smtp.password,
            # False, not None: aiosmtplib would otherwise upgrade opportunistically.
            start_tls=self._smtp.starttls,
            timeout=self._timeout,
        )

    def describe(self) -> str:
        return f"smtp://{self._smtp.host}:{self._smtp.port}"


class FolderSender:
    """Writes each mail as ``<UTC time>-<outbox id>.eml`` into one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, self.folder / name)  # listers never see half a mail
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    async def send(self, message: EmailMessage) -> None:
        outbox_id = str(message["X-Storyhub-Outbox-Id"] or "mail")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        await asyncio.to_thread(self._write, f"{stamp}-{outbox_id}.eml", message.as_bytes())

    def describe(self) -> str:
        return f"folder {self.folder}"


def mail_folder(settings: Settings) -> Path:
    """Where embedded mode writes mail."""
    return settings.data_dir / "mail"


def build_sender(settings: Settings) -> MailSender:
    """SMTP when ``STORYHUB_SMTP_HOST`` is set, else the mail folder."""
    if settings.smtp is not None:
        return SmtpSender(settings.smtp)
    return FolderSender(mail_folder(settings))


@dataclass(frozen=True)
class StoredMail:
    """One ``.eml`` file in the mail folder."""

    id: str
    path: Path
    written_at: datetime
    recipient: str
    subject: str


def _id_of(path: Path) -> str:
    _, _, rest = path.stem.partition("-")
    return rest or path.stem


def list_folder(folder: Path) -> list[StoredMail]:
    """Mail in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    parser = BytesParser(policy=policy.default)
    found: list[StoredMail] = []
    for path in folder.glob("*.eml"):
        with path.open("rb") as handle:
            headers = parser.parse(handle, headersonly=True)
        found.append(
            StoredMail(
                id=_id_of(path),
                path=path,
                written_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                recipient=str(headers["To"] or ""),
                subject=str(headers["Subject"] or ""),
            )
        )
    # File names start with the UTC time of writing: sort on them, then mtime.
    found.sort(key=lambda mail: (mail.path.name, mail.written_at), reverse=True)
    return found


def find_in_folder(folder: Path, mail_id: str) -> StoredMail | None:
    """The mail whose id is ``mail_id`` or starts with it (unique prefix), else ``None``."""
    matches = [mail for mail in list_folder(folder) if mail.id.startswith(mail_id)]
    return matches[0] if len(matches) == 1 else None
