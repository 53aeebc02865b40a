"""Opaque refresh tokens: single use, rotated in families, reuse revokes the family.

A login starts a *family*. Every refresh marks the presented token used and
issues its successor in the same family. Presenting a token that was already
used means two parties hold the same token (one of them a thief), so the whole
family is revoked and both must log in again.

Only SHA-256 hashes of tokens are stored. Rotation is race-safe: the token is
marked used by a conditional ``UPDATE ... WHERE used_at IS NULL`` inside a
writing transaction together with the insert of its successor, so of two
concurrent refreshes with one token exactly one succeeds, and the loser's
family revocation also catches the winner's successor.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from storyhub.accounts.tables import RefreshToken
from storyhub.lib import database
from storyhub.lib.crypto import token_hash
from storyhub.lib.errors import Unauthenticated

_MAX_REVOKE_PASSES = 5

TOKEN_PREFIX = "shr_"
"""Makes leaked tokens easy to spot for secret scanners."""


class RefreshTokenReused(Unauthenticated):
    """A used refresh token came back; its family has been revoked."""

    code = "refreshTokenReused"

    def __init__(self, user_id: UUID, family_id: UUID) -> None:
        super().__init__(
            "This refresh token was already used; every session started with it has been "
            "signed out. Log in again."
        )
        self.user_id = user_id
        self.family_id = family_id


@dataclass(frozen=True)
class Rotated:
    """The outcome of a successful refresh."""

    user_id: UUID
    family_id: UUID
    token: str
    auth_epoch: int
    """The user's epoch as read *before* the token was spent (see :func:`rotate`)."""
    user_status: str


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def new_token() -> str:
    """A fresh opaque refresh token (256 bits of randomness)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _row(token: str, user_id: UUID, family_id: UUID, ttl_seconds: int, now: datetime) -> Any:
    return RefreshToken(
        id=uuid.uuid4(),
        family_id=family_id,
        user=user_id,
        token_hash=token_hash(token),
        expires_at=now + timedelta(seconds=ttl_seconds),
        created_at=now,
    )


async def start_family(user_id: UUID, ttl_seconds: int, now: datetime | None = None) -> str:
    """Issue the first refresh token of a new family (a login)."""
    now = now or _now()
    token = new_token()
    await RefreshToken.insert(_row(token, user_id, uuid.uuid4(), ttl_seconds, now))
    return token


async def rotate(token: str, ttl_seconds: int, now: datetime | None = None) -> Rotated:
    """Spend ``token`` and return its successor, or raise :class:`Unauthenticated`.

    Raises :class:`RefreshTokenReused` (after revoking the family) when the
    token was already spent.

    The user's ``auth_epoch`` is read in the same query as the token, before
    it is spent. A password change revokes tokens first and bumps the epoch
    second, so a rotation that slips past the revocation necessarily read the
    old epoch, and the access token issued with it is already dead.
    """
    now = now or _now()
    row = await _find(token)
    if row is None:
        raise Unauthenticated("The refresh token is not valid.", code="invalidRefreshToken")
    user_id: UUID = row["user"]
    family_id: UUID = row["family_id"]
    if row["revoked_at"] is not None:
        raise Unauthenticated("The refresh token has been revoked.", code="refreshTokenRevoked")
    if row["used_at"] is not None:
        await revoke_family(family_id, now)
        raise RefreshTokenReused(user_id, family_id)
    if _aware(row["expires_at"]) <= now:
        raise Unauthenticated("The refresh token has expired.", code="refreshTokenExpired")

    successor = new_token()
    async with database.writing(RefreshToken._meta.db):
        spent = (
            await RefreshToken.update({RefreshToken.used_at: now})
            .where(
                (RefreshToken.id == row["id"])
                & RefreshToken.used_at.is_null()
                & RefreshToken.revoked_at.is_null()
            )
            .returning(RefreshToken.id)
        )
        if spent:
            await RefreshToken.insert(_row(successor, user_id, family_id, ttl_seconds, now))
    if spent:
        return Rotated(
            user_id=user_id,
            family_id=family_id,
            token=successor,
            auth_epoch=row["auth_epoch"],
            user_status=row["user_status"],
        )

    # Someone else changed the token between our read and our update.
    current = await _find(token)
    if current is not None and current["used_at"] is None:
        raise Unauthenticated("The refresh token has been revoked.", code="refreshTokenRevoked")
    await revoke_family(family_id, now)
    raise RefreshTokenReused(user_id, family_id)


async def _find(token: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await RefreshToken.select(
            RefreshToken.id,
            RefreshToken.family_id,
            RefreshToken.user,
            RefreshToken.expires_at,
            RefreshToken.used_at,
            RefreshToken.revoked_at,
            RefreshToken.user.auth_epoch.as_alias("auth_epoch"),
            RefreshToken.user.status.as_alias("user_status"),
        )
        .where(RefreshToken.token_hash == token_hash(token))
        .first()
    )
    return row


async def owner_of(token: str) -> tuple[UUID, UUID] | None:
    """``(user_id, family_id)`` for a known token, used or not; else ``None``."""
    row = await _find(token)
    return None if row is None else (row["user"], row["family_id"])


async def _revoke(where: Any, now: datetime | None) -> None:
    # Repeat until a pass finds nothing left. On PostgreSQL an UPDATE that
    # waited for a concurrent rotation's row lock re-checks only the rows it
    # had already seen, not the successor that rotation inserted; once the
    # pass returns, that successor is committed and the next pass catches it.
    # (SQLite serialises writers, so there the second pass finds nothing.)
    for _ in range(_MAX_REVOKE_PASSES):
        revoked = (
            await RefreshToken.update({RefreshToken.revoked_at: now or _now()})
            .where(where & RefreshToken.revoked_at.is_null())
            .returning(RefreshToken.id)
        )
        if not revoked:
            return


async def revoke_family(family_id: UUID, now: datetime | None = None) -> None:
    """Revoke every token of one family (logout, reuse)."""
    await _revoke(RefreshToken.family_id == family_id, now)


async def revoke_user(user_id: UUID, now: datetime | None = None) -> None:
    """Revoke every token of every family of one user (password change)."""
    await _revoke(RefreshToken.user == user_id, now)
