"""What the account endpoints accept and answer (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from storyhub.accounts.principal import AccountStatus, AgeTier, Role


class _Input(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are an error, never silently dropped."""


class _Output(msgspec.Struct, rename="camel", kw_only=True):
    """Response bodies."""


class RegisterRequest(_Input):
    email: str
    password: str
    display_name: str
    birth_date: date
    country: str | None = None
    """ISO 3166-1 alpha-2; decides the age of digital consent (16 when absent)."""
    parent_email: str | None = None
    """Required below the age of digital consent: the parent who is asked to consent."""


class LoginRequest(_Input):
    email: str
    password: str


class RefreshRequest(_Input):
    refresh_token: str


class PasswordChangeRequest(_Input):
    current_password: str
    new_password: str


class ProfileUpdate(_Input):
    display_name: str | None = None
    preferences: dict[str, Any] | None = None
    """Shallow-merged into the stored preferences; a ``null`` value removes a key."""


class RegisteredUser(_Output):
    id: UUID
    email: str
    display_name: str
    age_tier: AgeTier
    status: AccountStatus


class TokenPair(_Output):
    access_token: str
    refresh_token: str
    expires_in: int
    """Seconds until the access token expires."""
    token_type: Literal["Bearer"] = "Bearer"


class Profile(_Output):
    """The caller's own account. The birth date is never sent back."""

    id: UUID
    email: str
    display_name: str
    age_tier: AgeTier
    status: AccountStatus
    role: Role
    country: str | None
    preferences: dict[str, Any]
    created_at: datetime
