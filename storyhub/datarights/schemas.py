"""The data export document: what storyhub holds about one account, field by field.

Secrets never appear: password, token and Google-subject hashes, sealed
consent evidence, ID documents and storage keys stay inside. Everything
else about the account, and everything it wrote, does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

EXPORT_FORMAT = 1
"""Bumped when a field changes meaning or goes away (new fields do not bump it)."""


class _Out(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    pass


class ExportedAccount(_Out):
    id: UUID
    email: str
    display_name: str
    birth_date: str | None
    """ISO date, opened from its sealed form; ``null`` when it cannot be read."""
    age_tier: str
    country: str | None
    status: str
    role: str
    preferences: dict[str, Any]
    google_linked: bool
    created_at: datetime
    updated_at: datetime


class ExportedLink(_Out):
    """A parental link: ``userId`` is the other side (the parent, or the child)."""

    user_id: UUID | None
    display_name: str | None
    status: str
    created_at: datetime


class ExportedConsent(_Out):
    parent_id: UUID | None
    method: str
    notice_version: str
    scopes: list[str]
    granted_at: datetime
    revoked_at: datetime | None


class ExportedVerification(_Out):
    id: UUID
    method: str
    status: str
    created_at: datetime
    updated_at: datetime


class ExportedStory(_Out):
    id: UUID
    title: str
    premise: str
    age_rating: str
    status: str
    role: str
    """``owner``, ``editor``, ``author`` or ``viewer``."""
    created_at: datetime


class ExportedSegment(_Out):
    story_id: UUID
    seq: int
    content: str
    revision: int
    created_at: datetime


class ExportedChat(_Out):
    story_id: UUID
    content: str
    created_at: datetime


class ExportedNote(_Out):
    """A pinned fact or a lore entry the account wrote for the AI narrator."""

    story_id: UUID
    kind: Literal["fact", "lore"]
    name: str | None
    text: str
    created_at: datetime


class ExportedMedia(_Out):
    id: UUID
    story_id: UUID
    seq: int | None
    kind: str
    created_at: datetime


class ExportedBook(_Out):
    id: UUID
    story_id: UUID
    format: str
    status: str
    created_at: datetime


class ExportedSession(_Out):
    """A sign-in (refresh-token family member); the token itself is never exported."""

    family_id: UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ExportedAuditEvent(_Out):
    """Something the account did, or that was done to it (``byThisAccount`` false)."""

    at: datetime
    action: str
    subject: str | None
    by_this_account: bool
    ip: str | None
    """Only on the account's own events."""
    data: dict[str, Any]


class ExportedJob(_Out):
    id: UUID
    kind: str
    status: str
    created_at: datetime


class DataExport(_Out, kw_only=True):
    """Everything about one account (``GET /users/me/export``)."""

    format: int = EXPORT_FORMAT
    exported_at: datetime
    account: ExportedAccount
    parents: list[ExportedLink]
    children: list[ExportedLink]
    consents: list[ExportedConsent]
    verifications: list[ExportedVerification]
    stories: list[ExportedStory]
    segments: list[ExportedSegment]
    chat_messages: list[ExportedChat]
    narrator_notes: list[ExportedNote]
    media_requested: list[ExportedMedia]
    books_requested: list[ExportedBook]
    sessions: list[ExportedSession]
    audit_events: list[ExportedAuditEvent]
    jobs: list[ExportedJob]
