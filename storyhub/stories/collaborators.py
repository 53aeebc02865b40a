"""Collaborators: invite by id or email, list, change role, remove or leave.

Invites re-read the story's rating under the story row's lock (see
:mod:`storyhub.stories.service`), so an invite and a rating change never
both succeed against each other.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import User
from storyhub.lib.errors import Conflict, InvalidInput, NotFound, is_unique_violation
from storyhub.stories import policy
from storyhub.stories.access import load_access, refuse, story_not_found, utc_now, writing
from storyhub.stories.policy import StoredRole
from storyhub.stories.schemas import CollaboratorInvite, CollaboratorOut
from storyhub.stories.tables import Collaborator, Story

# --- collaborators -------------------------------------------------------------


def collaborator_not_found() -> NotFound:
    return NotFound("That person does not collaborate on this story.", code="collaboratorNotFound")


def user_not_found() -> NotFound:
    return NotFound("No active account matches.", code="userNotFound")


async def _find_invitee(data: CollaboratorInvite) -> dict[str, Any]:
    columns = (User.id, User.display_name, User.age_tier)
    active = User.status == "active"
    if data.user_id is not None:
        row = await User.select(*columns).where((User.id == data.user_id) & active).first()
    else:
        assert data.email is not None
        email = data.email.strip()
        # Accounts may store emails as typed or lower-cased: match either exactly
        # (LIKE would need wildcard escaping for '_' and '%').
        row = (
            await User.select(*columns)
            .where(((User.email == email) | (User.email == email.lower())) & active)
            .first()
        )
    if row is None:
        raise user_not_found()
    return row


async def invite_collaborator(
    principal: Principal, story_id: UUID, data: CollaboratorInvite
) -> CollaboratorOut:
    """Add a user (by id or email) with a role; owner and editors, within the age rules."""
    if (data.user_id is None) == (data.email is None):
        raise InvalidInput("Send exactly one of userId and email.", code="invalidInput")
    access = await load_access(principal, story_id)
    denial = policy.inviter_denial(access.role, data.role)
    if denial is not None:
        raise refuse(denial)
    invitee = await _find_invitee(data)
    now = utc_now()
    async with writing():
        await Story.update({Story.updated_at: now}).where(Story.id == story_id)
        # Read the rating again inside the lock: it may have changed since.
        rating = await Story.select(Story.age_rating).where(Story.id == story_id).first()
        if rating is None:
            raise story_not_found()
        denial = policy.invite_denial(
            access.role, data.role, invitee["age_tier"], rating["age_rating"]
        )
        if denial is not None:
            raise refuse(denial)
        try:
            await Collaborator(
                story=story_id, user=invitee["id"], role=data.role, joined_at=now
            ).save()
        except Exception as exc:
            if is_unique_violation(exc):
                raise Conflict(
                    "That person already collaborates on this story.", code="alreadyCollaborator"
                ) from exc
            raise
    return CollaboratorOut(
        user_id=invitee["id"], display_name=invitee["display_name"], role=data.role, joined_at=now
    )


def _collaborator_out(row: dict[str, Any], creator: UUID) -> CollaboratorOut:
    role = policy.effective_role(row["role"], is_creator=row["user"] == creator)
    assert role is not None
    return CollaboratorOut(
        user_id=row["user"],
        display_name=row["display_name"] or "",
        role=role,
        joined_at=row["joined_at"],
    )


_COLLABORATOR_COLUMNS = (
    Collaborator.user,
    Collaborator.role,
    Collaborator.joined_at,
    Collaborator.user.display_name.as_alias("display_name"),
)


async def list_collaborators(principal: Principal, story_id: UUID) -> list[CollaboratorOut]:
    """Everyone on the story, in joining order: ids, display names and roles only."""
    access = await load_access(principal, story_id)
    rows = (
        await Collaborator.select(*_COLLABORATOR_COLUMNS)
        .where(Collaborator.story == story_id)
        .order_by(Collaborator.id)
    )
    return [_collaborator_out(row, access.story["creator"]) for row in rows]


async def _target(story_id: UUID, user_id: UUID) -> dict[str, Any]:
    row = (
        await Collaborator.select(*_COLLABORATOR_COLUMNS)
        .where((Collaborator.story == story_id) & (Collaborator.user == user_id))
        .first()
    )
    if row is None:
        raise collaborator_not_found()
    return row


async def change_role(
    principal: Principal, story_id: UUID, user_id: UUID, role: StoredRole
) -> CollaboratorOut:
    """Give a collaborator another role; the owner only, never the owner's own."""
    access = await load_access(principal, story_id)
    creator: UUID = access.story["creator"]
    denial = policy.role_change_denial(access.role, user_id == creator, role)
    if denial is not None:
        raise refuse(denial)
    target = await _target(story_id, user_id)
    await Collaborator.update({Collaborator.role: role}).where(
        (Collaborator.story == story_id) & (Collaborator.user == user_id)
    )
    return _collaborator_out({**target, "role": role}, creator)


async def remove_collaborator(principal: Principal, story_id: UUID, user_id: UUID) -> None:
    """Remove a collaborator (the owner), or leave the story (anyone but the owner)."""
    access = await load_access(principal, story_id)
    denial = policy.removal_denial(
        access.role,
        removing_self=user_id == principal.id,
        target_is_owner=user_id == access.story["creator"],
    )
    if denial is not None:
        raise refuse(denial)
    await _target(story_id, user_id)
    await Collaborator.delete().where(
        (Collaborator.story == story_id) & (Collaborator.user == user_id)
    )
