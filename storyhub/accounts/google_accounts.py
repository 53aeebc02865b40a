"""Accounts keyed by a Google identity: find, link, sign in."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from storyhub.accounts.google import GoogleIdentity
from storyhub.accounts.tables import User
from storyhub.audit import service as audit
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict, is_unique_violation


def subject_hash(cipher: FieldCipher, identity: GoogleIdentity) -> str:
    """The keyed lookup hash of issuer + subject stored in ``users.google_subject_hash``."""
    return cipher.lookup_hash(identity.key)


def subject_context(user_id: UUID) -> str:
    return f"google_subject:{user_id}"


async def find_user(cipher: FieldCipher, identity: GoogleIdentity) -> UUID | None:
    """The account linked to ``identity``, if any."""
    row = (
        await User.select(User.id)
        .where(User.google_subject_hash == subject_hash(cipher, identity))
        .first()
    )
    return None if row is None else row["id"]


async def link(
    cipher: FieldCipher, user_id: UUID, identity: GoogleIdentity, ip: str | None = None
) -> None:
    """Link ``identity`` to ``user_id``; 409 if it belongs to another account.

    Linking the same identity again is a no-op; an account already linked to
    another Google identity is a 409 too (unlinking is not offered yet).
    """
    hashed = subject_hash(cipher, identity)
    owner = await find_user(cipher, identity)
    if owner == user_id:
        return
    if owner is not None:
        raise Conflict(
            "This Google account is linked to another storyhub account.",
            code="googleAccountLinked",
        )
    try:
        updated = (
            await User.update(
                {
                    User.google_subject_hash: hashed,
                    User.google_subject_enc: cipher.seal(
                        identity.key, context=subject_context(user_id)
                    ),
                    User.updated_at: datetime.now(UTC),
                }
            )
            .where((User.id == user_id) & User.google_subject_hash.is_null())
            .returning(User.id)
        )
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict(
                "This Google account is linked to another storyhub account.",
                code="googleAccountLinked",
            ) from None
        raise
    if not updated:
        raise Conflict(
            "This account is already linked to another Google account.",
            code="googleAccountLinked",
        )
    await audit.record("auth.google.linked", actor_id=user_id, subject=f"user:{user_id}", ip=ip)
