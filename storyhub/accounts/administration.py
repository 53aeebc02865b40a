"""What an operator does to accounts from a shell: find, list, change role, deactivate.

The use cases behind ``storyhub admin users ...`` (``users_commands.py``).
Every change is audited with ``by: "cli"``. Deactivation signs the account
out at once: refresh tokens revoked, access tokens dead (the epoch moves),
and — through Valkey in services mode — its open WebSockets closed on every
API node. Reactivation restores the status the account had before an
operator deactivated it, so it never bypasses a parent's consent, and it is
refused for an account that is being deleted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from storyhub.accounts import refresh
from storyhub.accounts.principal import Role
from storyhub.accounts.tables import User
from storyhub.audit import service as audit
from storyhub.audit.tables import AuditEvent
from storyhub.jobs.tables import Job
from storyhub.lib import database
from storyhub.lib.errors import Conflict, InvalidInput, NotFound

DEACTIVATED: Final = "admin.deactivated"
REACTIVATED: Final = "admin.reactivated"
ROLE_CHANGED: Final = "admin.roleChanged"
LIST_LIMIT_MAX: Final = 1000


class AccountRow(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: uuid.UUID
    email: str
    display_name: str
    age_tier: str
    role: str
    status: str
    created_at: datetime


_COLUMNS = (
    User.id,
    User.email,
    User.display_name,
    User.age_tier,
    User.role,
    User.status,
    User.created_at,
)


def _row(row: dict[str, Any]) -> AccountRow:
    return AccountRow(**row)


def _subject(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


async def find(ref: str) -> AccountRow:
    """The account whose id or email is ``ref``; 404 ``userNotFound`` otherwise."""
    try:
        condition = User.id == uuid.UUID(ref)
    except ValueError:
        condition = User.email == ref.strip().lower()
    row = await User.select(*_COLUMNS).where(condition).first()
    if row is None:
        raise NotFound(f"No account is {ref!r} (an id or an email).", code="userNotFound")
    return _row(row)


async def list_accounts(
    *,
    email_contains: str | None = None,
    role: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[AccountRow]:
    """Accounts, newest first, filtered by part of the email, role and status."""
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInput(f"The limit is between 1 and {LIST_LIMIT_MAX}.", code="invalidLimit")
    query = User.select(*_COLUMNS).order_by(User.created_at, ascending=False).limit(limit)
    if email_contains:
        query = query.where(User.email.ilike(f"%{email_contains.strip().lower()}%"))
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    return [_row(row) for row in await query]


async def set_role(ref: str, role: Role) -> AccountRow:
    """Make the account a ``user``, ``moderator`` or ``admin`` (the last two: adults only)."""
    account = await find(ref)
    if role != "user" and account.age_tier != "adult":
        raise InvalidInput("Only adults can be moderators or admins.", code="notAdult")
    if account.role == role:
        return account
    now = datetime.now(UTC)
    async with database.writing(User._meta.db):
        await User.update({User.role: role, User.updated_at: now}).where(User.id == account.id)
        await audit.record(
            ROLE_CHANGED,
            subject=_subject(account.id),
            data={"by": "cli", "from": account.role, "to": role},
        )
    return msgspec.structs.replace(account, role=role)


async def deactivate(ref: str, reason: str) -> AccountRow:
    """Sign the account out everywhere and keep it out until reactivated."""
    account = await find(ref)
    if account.status == "deactivated":
        raise Conflict("The account is already deactivated.", code="alreadyDeactivated")
    now = datetime.now(UTC)
    # Refresh tokens first, then the epoch (as consent revocation does).
    await refresh.revoke_user(account.id, now)
    async with database.writing(User._meta.db):
        await User.update(
            {User.status: "deactivated", User.auth_epoch: User.auth_epoch + 1, User.updated_at: now}
        ).where(User.id == account.id)
        await audit.record(
            DEACTIVATED,
            subject=_subject(account.id),
            data={"by": "cli", "reason": reason[:200], "previousStatus": account.status},
        )
    return msgspec.structs.replace(account, status="deactivated")


async def reactivate(ref: str) -> AccountRow:
    """Undo :func:`deactivate`: the account gets back the status it had before."""
    account = await find(ref)
    if account.status != "deactivated":
        raise Conflict("The account is not deactivated.", code="notDeactivated")
    deleting = await Job.exists().where((Job.owner == account.id) & (Job.kind == "accountDeletion"))
    if deleting:
        raise Conflict(
            "The account is being deleted (consent was withdrawn or never given).",
            code="deletionPending",
        )
    last = (
        await AuditEvent.select(AuditEvent.action, AuditEvent.data)
        .where(
            (AuditEvent.subject == _subject(account.id))
            & AuditEvent.action.is_in([DEACTIVATED, REACTIVATED])
        )
        .order_by(AuditEvent.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    if last is None or last["action"] != DEACTIVATED:
        raise Conflict(
            "An operator did not deactivate this account; nothing to undo here.",
            code="notDeactivatedByOperator",
        )
    previous = str(last["data"].get("previousStatus") or "active")
    now = datetime.now(UTC)
    async with database.writing(User._meta.db):
        await User.update({User.status: previous, User.updated_at: now}).where(
            (User.id == account.id) & (User.status == "deactivated")
        )
        await audit.record(
            REACTIVATED, subject=_subject(account.id), data={"by": "cli", "status": previous}
        )
    return msgspec.structs.replace(account, status=previous)
