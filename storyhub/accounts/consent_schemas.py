"""What the consent and parent endpoints accept and answer (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from storyhub.accounts.principal import AccountStatus, AgeTier


class _Input(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are an error, never silently dropped."""


class _Output(msgspec.Struct, rename="camel", kw_only=True):
    """Response bodies."""


class ScopeDescription(_Output):
    scope: str
    description: str


class ConsentRequestView(_Output):
    """What a consent link asks the parent to agree to."""

    child_display_name: str
    child_age_tier: AgeTier
    notice_version: str
    scopes: list[ScopeDescription]
    expires_at: datetime
    parent_email_hint: str
    """The address the link was sent to, partly masked (``p***@example.org``)."""


class ConsentRequestAgain(_Input):
    parent_email: str


class ConsentRequested(_Output):
    parent_email_hint: str
    expires_at: datetime


class ConsentGrant(_Input):
    scopes: list[str]
    """Must include ``participate``; the others are each optional."""


class ScopesChange(_Input):
    scopes: list[str]


class ConsentOut(_Output):
    child_id: UUID
    child_status: AccountStatus
    method: str
    notice_version: str
    scopes: list[str]
    granted_at: datetime


class ChildCreate(_Input):
    display_name: str
    birth_date: date
    password: str
    email: str | None = None
    """Optional: without one the child logs in with a generated address (returned)."""
    country: str | None = None
    scopes: list[str] = msgspec.field(default_factory=lambda: ["participate"])


class ChildSummary(_Output):
    id: UUID
    email: str
    display_name: str
    age_tier: AgeTier
    status: AccountStatus
    scopes: list[str]
    linked_at: datetime


class ChildStory(_Output):
    id: UUID
    title: str
    age_rating: str
    status: str
    role: str
    updated_at: datetime


class ChildDetail(_Output):
    child: ChildSummary
    consent: ConsentOut | None
    stories: list[ChildStory]


class ChildList(_Output):
    children: list[ChildSummary]


class RevocationOut(_Output):
    child_id: UUID
    child_status: AccountStatus
    deletion_job_id: UUID
    """The queued deletion of the child's data (see docs: retention)."""
