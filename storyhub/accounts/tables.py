"""Accounts: users, refresh-token families, parental links, consent, age verification."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="users"):
    """A person with a login. Sensitive fields are encrypted (``*_enc``)."""

    id = UUID(primary_key=True)
    email = Varchar(length=320, unique=True, index=True)
    password_hash = Text(null=True, default=None)
    display_name = Varchar(length=80)
    birth_date_enc = Text()
    age_tier = Varchar(length=16)
    country = Varchar(length=2, null=True, default=None)
    status = Varchar(length=24, default="active")
    role = Varchar(length=16, default="user")
    google_subject_hash = Varchar(length=64, null=True, default=None, unique=True)
    google_subject_enc = Text(null=True, default=None)
    preferences = JSON(default="{}")
    auth_epoch = Integer(default=0)
    """Bumped by logout-everywhere and password change; tokens carry it."""
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class RefreshToken(Table, tablename="refresh_tokens"):
    """One opaque refresh token; tokens rotated from one login share a family."""

    id = UUID(primary_key=True)
    family_id = UUID(index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ParentalLink(Table, tablename="parental_links"):
    """A parent (once verified) and the child account they answer for."""

    id = UUID(primary_key=True)
    child = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    parent = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, index=True)
    parent_email_enc = Text()
    status = Varchar(length=16, default="pending")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ConsentRecord(Table, tablename="consent_records"):
    """Verifiable parental consent: method, time, notice version and scopes."""

    id = UUID(primary_key=True)
    child = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    parent = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    method = Varchar(length=32)
    notice_version = Varchar(length=32)
    scopes = JSON(default="[]")
    evidence_enc = Text(null=True, default=None)
    granted_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class AgeVerificationRequest(Table, tablename="age_verification_requests"):
    """A request to raise trust in a user's age, with its status history."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    method = Varchar(length=32)
    status = Varchar(length=16, default="pending")
    evidence_key_enc = Text(null=True, default=None)
    history = JSON(default="[]")
    reviewer = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class MailOutbox(Table, tablename="mail_outbox"):
    """Mail waiting to be sent, retried with backoff."""

    id = UUID(primary_key=True)
    recipient_enc = Text()
    subject = Varchar(length=200)
    body = Text()
    attempts = Integer(default=0)
    sent = Boolean(default=False)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    last_error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
