"""Write audit events: who did what to which subject, from where.

Callers pass identifiers and outcomes only. Passwords, tokens and other
secrets never go in: ``data`` keys that look secret are refused loudly so a
mistake shows up in tests rather than in the log.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from storyhub.audit.tables import AuditEvent

_SECRET_WORDS = ("password", "token", "secret", "ticket")


def _check_no_secrets(data: dict[str, Any]) -> None:
    for key in data:
        lowered = key.lower()
        if any(word in lowered for word in _SECRET_WORDS):
            raise ValueError(f"audit data must not carry secrets (key {key!r})")


async def record(
    action: str,
    actor_id: UUID | None = None,
    subject: str | None = None,
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one audit event; ``action`` is a dotted name like ``auth.login.failed``."""
    payload = dict(data or {})
    _check_no_secrets(payload)
    await AuditEvent.insert(
        AuditEvent(
            action=action[:64],
            actor_id=actor_id,
            subject=None if subject is None else subject[:200],
            ip=None if ip is None else ip[:64],
            data=payload,
        )
    )


async def events_for(subject: str, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit events about ``subject``, newest first (for admin views and tests)."""
    rows: list[dict[str, Any]] = (
        await AuditEvent.select()
        .where(AuditEvent.subject == subject)
        .order_by(AuditEvent.id, ascending=False)
        .limit(limit)
    )
    return rows
