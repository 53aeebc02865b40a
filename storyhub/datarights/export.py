"""The right of access: one document with everything storyhub holds about an account.

A user downloads their own; a parent downloads a linked child's, which is how
a parent reviews what the service collected from the child. Reads only, in
one pass over the tables that name the account. What an account *wrote* in a
shared story is exported (its segments, chat, notes for the narrator); what
others wrote is theirs and is not. Each export leaves an audit event.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from uuid import UUID

from storyhub.accounts import consent
from storyhub.accounts.principal import Principal
from storyhub.accounts.service import birth_date_context
from storyhub.accounts.tables import (
    AgeVerificationRequest,
    ConsentRecord,
    ParentalLink,
    RefreshToken,
    User,
)
from storyhub.audit import service as audit
from storyhub.audit.tables import AuditEvent
from storyhub.books.tables import DigitalBook
from storyhub.datarights.schemas import (
    DataExport,
    ExportedAccount,
    ExportedAuditEvent,
    ExportedBook,
    ExportedChat,
    ExportedConsent,
    ExportedJob,
    ExportedLink,
    ExportedMedia,
    ExportedNote,
    ExportedSegment,
    ExportedSession,
    ExportedStory,
    ExportedVerification,
)
from storyhub.jobs.tables import Job
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import NotFound
from storyhub.media.tables import MediaAsset
from storyhub.stories.access import decode_json
from storyhub.stories.memory_tables import LoreEntry, PinnedFact
from storyhub.stories.tables import ChatMessage, Collaborator, Segment, Story

log = logging.getLogger("storyhub.datarights")

COVER_SEQ = 0
"""A cover's asset row stores seq 0 (storyhub.media.generation); exported as ``null``."""


def _birth_date(cipher: FieldCipher, user_id: UUID, sealed: str) -> str | None:
    try:
        return date.fromisoformat(
            cipher.open(sealed, context=birth_date_context(user_id))
        ).isoformat()
    except ValueError:
        log.warning("birth date unreadable in an export", extra={"userId": str(user_id)})
        return None


async def _account(cipher: FieldCipher, user_id: UUID) -> ExportedAccount:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise NotFound("The account does not exist.", code="userNotFound")
    return ExportedAccount(
        id=user_id,
        email=row["email"],
        display_name=row["display_name"],
        birth_date=_birth_date(cipher, user_id, row["birth_date_enc"]),
        age_tier=row["age_tier"],
        country=row["country"],
        status=row["status"],
        role=row["role"],
        preferences=decode_json(row["preferences"]) or {},
        google_linked=row["google_subject_hash"] is not None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _links(user_id: UUID) -> tuple[list[ExportedLink], list[ExportedLink]]:
    as_child = await ParentalLink.select(
        ParentalLink.parent,
        ParentalLink.parent.display_name.as_alias("name"),
        ParentalLink.status,
        ParentalLink.created_at,
    ).where(ParentalLink.child == user_id)
    as_parent = await ParentalLink.select(
        ParentalLink.child,
        ParentalLink.child.display_name.as_alias("name"),
        ParentalLink.status,
        ParentalLink.created_at,
    ).where(ParentalLink.parent == user_id)
    parents = [
        ExportedLink(
            user_id=r["parent"],
            display_name=r["name"],
            status=r["status"],
            created_at=r["created_at"],
        )
        for r in as_child
    ]
    children = [
        ExportedLink(
            user_id=r["child"],
            display_name=r["name"],
            status=r["status"],
            created_at=r["created_at"],
        )
        for r in as_parent
    ]
    return parents, children


async def _consents(user_id: UUID) -> list[ExportedConsent]:
    rows = (
        await ConsentRecord.select(
            ConsentRecord.parent,
            ConsentRecord.method,
            ConsentRecord.notice_version,
            ConsentRecord.scopes,
            ConsentRecord.granted_at,
            ConsentRecord.revoked_at,
        )
        .where(ConsentRecord.child == user_id)
        .order_by(ConsentRecord.granted_at)
    )
    return [
        ExportedConsent(
            parent_id=r["parent"],
            method=r["method"],
            notice_version=r["notice_version"],
            scopes=list(decode_json(r["scopes"]) or []),
            granted_at=r["granted_at"],
            revoked_at=r["revoked_at"],
        )
        for r in rows
    ]


async def _verifications(user_id: UUID) -> list[ExportedVerification]:
    rows = (
        await AgeVerificationRequest.select(
            AgeVerificationRequest.id,
            AgeVerificationRequest.method,
            AgeVerificationRequest.status,
            AgeVerificationRequest.created_at,
            AgeVerificationRequest.updated_at,
        )
        .where(AgeVerificationRequest.user == user_id)
        .order_by(AgeVerificationRequest.created_at)
    )
    return [ExportedVerification(**r) for r in rows]


async def _stories(user_id: UUID) -> list[ExportedStory]:
    rows = (
        await Collaborator.select(
            Collaborator.role,
            Collaborator.story.id.as_alias("id"),
            Collaborator.story.title.as_alias("title"),
            Collaborator.story.premise.as_alias("premise"),
            Collaborator.story.age_rating.as_alias("age_rating"),
            Collaborator.story.status.as_alias("status"),
            Collaborator.story.creator.as_alias("creator"),
            Collaborator.story.created_at.as_alias("created_at"),
        )
        .where(Collaborator.user == user_id)
        .order_by(Collaborator.id)
    )
    seen = [r["id"] for r in rows]
    # A creator is normally a collaborator too; an owner without the row still owns it.
    mine = Story.creator == user_id
    owned = await Story.select(
        Story.id, Story.title, Story.premise, Story.age_rating, Story.status, Story.created_at
    ).where(mine & Story.id.not_in(seen) if seen else mine)
    stories = [
        ExportedStory(
            id=r["id"],
            title=r["title"],
            premise=r["premise"],
            age_rating=r["age_rating"],
            status=r["status"],
            role="owner" if r["creator"] == user_id else r["role"],
            created_at=r["created_at"],
        )
        for r in rows
    ]
    stories += [ExportedStory(role="owner", **r) for r in owned]
    return stories


async def _segments(user_id: UUID) -> list[ExportedSegment]:
    rows = (
        await Segment.select(
            Segment.story.as_alias("story_id"),
            Segment.seq,
            Segment.content,
            Segment.revision,
            Segment.created_at,
        )
        .where(Segment.author == user_id)
        .order_by(Segment.story, Segment.seq)
    )
    return [ExportedSegment(**r) for r in rows]


async def _chat(user_id: UUID) -> list[ExportedChat]:
    rows = (
        await ChatMessage.select(
            ChatMessage.story.as_alias("story_id"), ChatMessage.content, ChatMessage.created_at
        )
        .where(ChatMessage.author == user_id)
        .order_by(ChatMessage.id)
    )
    return [ExportedChat(**r) for r in rows]


async def _notes(user_id: UUID) -> list[ExportedNote]:
    facts = await PinnedFact.select(PinnedFact.story, PinnedFact.text, PinnedFact.created_at).where(
        PinnedFact.created_by == user_id
    )
    lore = await LoreEntry.select(
        LoreEntry.story, LoreEntry.name, LoreEntry.text, LoreEntry.created_at
    ).where(LoreEntry.created_by == user_id)
    notes = [
        ExportedNote(
            story_id=r["story"], kind="fact", name=None, text=r["text"], created_at=r["created_at"]
        )
        for r in facts
    ]
    notes += [
        ExportedNote(
            story_id=r["story"],
            kind="lore",
            name=r["name"],
            text=r["text"],
            created_at=r["created_at"],
        )
        for r in lore
    ]
    return sorted(notes, key=lambda n: n.created_at)


async def _media(user_id: UUID) -> list[ExportedMedia]:
    rows = (
        await MediaAsset.select(
            MediaAsset.id, MediaAsset.story, MediaAsset.seq, MediaAsset.kind, MediaAsset.created_at
        )
        .where(MediaAsset.requested_by == user_id)
        .order_by(MediaAsset.created_at)
    )
    return [
        ExportedMedia(
            id=r["id"],
            story_id=r["story"],
            seq=None if r["kind"] == "cover" or r["seq"] == COVER_SEQ else r["seq"],
            kind=r["kind"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def _books(user_id: UUID) -> list[ExportedBook]:
    rows = (
        await DigitalBook.select(
            DigitalBook.id,
            DigitalBook.story.as_alias("story_id"),
            DigitalBook.format,
            DigitalBook.status,
            DigitalBook.created_at,
        )
        .where(DigitalBook.requested_by == user_id)
        .order_by(DigitalBook.created_at)
    )
    return [ExportedBook(**r) for r in rows]


async def _sessions(user_id: UUID) -> list[ExportedSession]:
    rows = (
        await RefreshToken.select(
            RefreshToken.family_id,
            RefreshToken.created_at,
            RefreshToken.expires_at,
            RefreshToken.revoked_at,
        )
        .where(RefreshToken.user == user_id)
        .order_by(RefreshToken.created_at)
    )
    return [ExportedSession(**r) for r in rows]


async def _audit_events(user_id: UUID) -> list[ExportedAuditEvent]:
    rows = (
        await AuditEvent.select(
            AuditEvent.at,
            AuditEvent.actor_id,
            AuditEvent.action,
            AuditEvent.subject,
            AuditEvent.ip,
            AuditEvent.data,
        )
        .where((AuditEvent.actor_id == user_id) | (AuditEvent.subject == f"user:{user_id}"))
        .order_by(AuditEvent.id)
    )
    return [
        ExportedAuditEvent(
            at=r["at"],
            action=r["action"],
            subject=r["subject"],
            by_this_account=r["actor_id"] == user_id,
            # Someone else's address (a parent's, a moderator's) is theirs, not this account's.
            ip=r["ip"] if r["actor_id"] == user_id else None,
            data=dict(decode_json(r["data"]) or {}),
        )
        for r in rows
    ]


async def _jobs(user_id: UUID) -> list[ExportedJob]:
    rows = (
        await Job.select(Job.id, Job.kind, Job.status, Job.created_at)
        .where(Job.owner == user_id)
        .order_by(Job.created_at)
    )
    return [ExportedJob(**r) for r in rows]


async def export_account(cipher: FieldCipher, user_id: UUID) -> DataExport:
    """Everything about ``user_id``; raises ``NotFound`` for an unknown account."""
    account = await _account(cipher, user_id)
    parents, children = await _links(user_id)
    return DataExport(
        exported_at=datetime.now(UTC),
        account=account,
        parents=parents,
        children=children,
        consents=await _consents(user_id),
        verifications=await _verifications(user_id),
        stories=await _stories(user_id),
        segments=await _segments(user_id),
        chat_messages=await _chat(user_id),
        narrator_notes=await _notes(user_id),
        media_requested=await _media(user_id),
        books_requested=await _books(user_id),
        sessions=await _sessions(user_id),
        audit_events=await _audit_events(user_id),
        jobs=await _jobs(user_id),
    )


async def export_own(cipher: FieldCipher, caller: Principal, ip: str | None) -> DataExport:
    """The caller's own data (audited as ``data.exported``)."""
    document = await export_account(cipher, caller.id)
    await audit.record("data.exported", actor_id=caller.id, subject=f"user:{caller.id}", ip=ip)
    return document


async def export_child(
    cipher: FieldCipher, parent: Principal, child_id: UUID, ip: str | None
) -> DataExport:
    """A linked child's data for its parent (404 ``childNotFound`` for anyone else)."""
    await consent.linked_child(parent.id, child_id)
    document = await export_account(cipher, child_id)
    await audit.record(
        "data.exported",
        actor_id=parent.id,
        subject=f"user:{child_id}",
        ip=ip,
        data={"by": "parent"},
    )
    return document
