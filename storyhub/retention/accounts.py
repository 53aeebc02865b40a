"""Carry out a queued account deletion: the person's data goes, other people's stories stay.

What happens to a deleted account's data
    - stories it owns where nobody else wrote: deleted with everything in them
      (segments, chat, media and their files, books and their files,
      moderation items);
    - stories it owns where someone else wrote, and other people's stories it
      wrote in: kept in order; its segments say ``[removed]`` and lose their
      media (the asset rows and files) and any book built from the story is
      deleted (a book holds the text; it can be built again). A kept story
      it owned passes to another writer (:func:`policy.successor`);
    - its chat messages, collaborator rows, refresh tokens, consent records,
      parental links, age-verification requests (and documents), moderation
      items it wrote, mail addressed to it and its other jobs: deleted;
    - the ``users`` row becomes a tombstone (no email, password, birth date,
      Google link, country or preferences; the name "Former member"), because
      the deletion job and the erased segments point at it.

Files are deleted before the rows that name them, and every step is safe to
repeat, so a pass that dies half-way is finished by the next one.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from storyhub.accounts import refresh
from storyhub.accounts.consent import writing
from storyhub.accounts.tables import (
    AgeVerificationRequest,
    ConsentRecord,
    MailOutbox,
    ParentalLink,
    RefreshToken,
    User,
)
from storyhub.accounts.verification import evidence_context
from storyhub.audit import service as audit
from storyhub.audit.tables import AuditEvent
from storyhub.books.tables import DigitalBook
from storyhub.jobs.tables import Job
from storyhub.lib.blobs import BlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.mail.outbox import recipient_context
from storyhub.media.tables import MediaAsset
from storyhub.retention import policy
from storyhub.safety.tables import ModerationItem
from storyhub.stories.memory_tables import LoreEntry, PinnedFact
from storyhub.stories.tables import ChatMessage, Collaborator, Segment, Story

log = logging.getLogger("storyhub.retention")


@dataclass
class AccountPlan:
    """Everything one account deletion removes or changes (gathered before acting)."""

    user_id: UUID
    job_id: UUID
    stories_deleted: list[UUID] = field(default_factory=list)
    stories_transferred: dict[UUID, UUID] = field(default_factory=dict)
    segments_erased: list[int] = field(default_factory=list)
    media_assets: dict[UUID, str] = field(default_factory=dict)
    """Asset id -> blob key (in deleted stories and at erased segments)."""
    books: dict[UUID, str | None] = field(default_factory=dict)
    chat_messages: list[int] = field(default_factory=list)
    moderation_items: list[UUID] = field(default_factory=list)
    verification_requests: dict[UUID, str | None] = field(default_factory=dict)
    """Request id -> document blob key, when a document is still stored."""
    mail: list[UUID] = field(default_factory=list)
    refresh_tokens: int = 0
    consent_records: int = 0
    parental_links: int = 0
    collaborations: int = 0
    other_jobs: int = 0
    memory_entries: int = 0
    """Pinned facts and lore the account wrote in stories that stay (deleted)."""
    media_requests: int = 0
    """Media in stories that stay that the account asked for (requester forgotten)."""
    audit_addresses: int = 0
    """The account's audit events that still hold an IP address (address erased)."""

    def blob_keys(self) -> list[str]:
        keys = [*self.media_assets.values(), *self.books.values()]
        keys += self.verification_requests.values()
        return sorted({key for key in keys if key})

    def counts(self) -> dict[str, int]:
        """The report: numbers only, nothing personal (it goes into the audit log)."""
        return {
            "storiesDeleted": len(self.stories_deleted),
            "storiesTransferred": len(self.stories_transferred),
            "segmentsErased": len(self.segments_erased),
            "mediaAssetsDeleted": len(self.media_assets),
            "booksDeleted": len(self.books),
            "blobsDeleted": len(self.blob_keys()),
            "chatMessagesDeleted": len(self.chat_messages),
            "moderationItemsDeleted": len(self.moderation_items),
            "verificationRequestsDeleted": len(self.verification_requests),
            "mailDeleted": len(self.mail),
            "sessionRecordsDeleted": self.refresh_tokens,
            "consentRecordsDeleted": self.consent_records,
            "parentalLinksDeleted": self.parental_links,
            "collaborationsRemoved": self.collaborations,
            "otherJobsDeleted": self.other_jobs,
            "memoryEntriesDeleted": self.memory_entries,
            "mediaRequestsForgotten": self.media_requests,
            "auditAddressesErased": self.audit_addresses,
        }


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})


async def _owned_stories(plan: AccountPlan) -> None:
    uid = plan.user_id
    for story in await Story.select(Story.id).where(Story.creator == uid):
        story_id: UUID = story["id"]
        members = await Collaborator.select(
            Collaborator.id, Collaborator.user, Collaborator.role
        ).where((Collaborator.story == story_id) & (Collaborator.user != uid))
        writers = {
            row["author"]
            for row in await Segment.select(Segment.author).where(
                (Segment.story == story_id) & Segment.author.is_not_null() & (Segment.author != uid)
            )
        }
        heir = policy.successor(
            [
                policy.Member(
                    user_id=m["user"],
                    role=m["role"],
                    joined_order=m["id"],
                    wrote_segments=m["user"] in writers,
                )
                for m in members
            ]
        )
        if heir is None:
            plan.stories_deleted.append(story_id)
        else:
            plan.stories_transferred[story_id] = heir


async def _segments_elsewhere(plan: AccountPlan) -> set[UUID]:
    """Segments to erase in stories that stay; returns those stories."""
    deleted = set(plan.stories_deleted)
    rows = await Segment.select(Segment.id, Segment.story, Segment.seq).where(
        (Segment.author == plan.user_id)
        # Not yet erased (a repeated pass finds nothing left to do).
        & (
            (Segment.content != policy.REMOVED_TEXT)
            | Segment.client_msg_id.is_not_null()
            | Segment.image_url.is_not_null()
            | Segment.audio_url.is_not_null()
            | Segment.video_url.is_not_null()
        )
    )
    seqs: dict[UUID, list[int]] = defaultdict(list)
    for row in rows:
        if row["story"] in deleted:
            continue
        plan.segments_erased.append(row["id"])
        seqs[row["story"]].append(row["seq"])
    for story_id, story_seqs in seqs.items():
        for asset in await MediaAsset.select(MediaAsset.id, MediaAsset.blob_key).where(
            (MediaAsset.story == story_id) & MediaAsset.seq.is_in(story_seqs)
        ):
            plan.media_assets[asset["id"]] = asset["blob_key"]
    return set(seqs)


async def _verification_documents(plan: AccountPlan, cipher: FieldCipher) -> None:
    rows = await AgeVerificationRequest.select(
        AgeVerificationRequest.id, AgeVerificationRequest.evidence_key_enc
    ).where(AgeVerificationRequest.user == plan.user_id)
    for row in rows:
        key: str | None = None
        if row["evidence_key_enc"]:
            try:
                evidence = json.loads(
                    cipher.open(row["evidence_key_enc"], context=evidence_context(row["id"]))
                )
                key = evidence.get("key")
            except ValueError:
                # Sealed under a key no longer configured: the file cannot be
                # named, so nothing can be deleted from storage; the row goes.
                log.warning("verification evidence unreadable", extra={"requestId": str(row["id"])})
        plan.verification_requests[row["id"]] = key


async def _mail_to(plan: AccountPlan, cipher: FieldCipher, email: str) -> None:
    # Recipients are sealed per row, so finding mail to one address means
    # opening them; the outbox is small (sent mail is purged on schedule).
    wanted = email.lower()
    for row in await MailOutbox.select(MailOutbox.id, MailOutbox.recipient_enc):
        try:
            recipient = cipher.open(row["recipient_enc"], context=recipient_context(row["id"]))
        except ValueError:
            continue
        if recipient.lower() == wanted:
            plan.mail.append(row["id"])


async def plan_account_deletion(user_id: UUID, job_id: UUID, cipher: FieldCipher) -> AccountPlan:
    """Gather what deleting ``user_id`` removes; changes nothing."""
    plan = AccountPlan(user_id=user_id, job_id=job_id)
    user = await User.select(User.email).where(User.id == user_id).first()
    await _owned_stories(plan)
    deleted = plan.stories_deleted
    touched = await _segments_elsewhere(plan)
    if deleted:
        for asset in await MediaAsset.select(MediaAsset.id, MediaAsset.blob_key).where(
            MediaAsset.story.is_in(deleted)
        ):
            plan.media_assets[asset["id"]] = asset["blob_key"]
    book_stories = [*deleted, *touched]
    if book_stories:
        for book in await DigitalBook.select(DigitalBook.id, DigitalBook.blob_key).where(
            DigitalBook.story.is_in(book_stories)
        ):
            plan.books[book["id"]] = book["blob_key"]
    plan.chat_messages = [
        row["id"]
        for row in await ChatMessage.select(ChatMessage.id).where(ChatMessage.author == user_id)
    ]
    moderation = ModerationItem.author == user_id
    if deleted:
        moderation = moderation | ModerationItem.story.is_in(deleted)
    plan.moderation_items = [
        row["id"] for row in await ModerationItem.select(ModerationItem.id).where(moderation)
    ]
    await _verification_documents(plan, cipher)
    if user is not None and not policy.is_tombstone(user["email"]):
        await _mail_to(plan, cipher, user["email"])
    plan.refresh_tokens = await RefreshToken.count().where(RefreshToken.user == user_id)
    plan.consent_records = await ConsentRecord.count().where(ConsentRecord.child == user_id)
    plan.parental_links = await ParentalLink.count().where(ParentalLink.child == user_id)
    mine = Collaborator.user == user_id
    if deleted:
        mine = mine & Collaborator.story.not_in(deleted)
    plan.collaborations = await Collaborator.count().where(mine)
    plan.other_jobs = await Job.count().where((Job.owner == user_id) & (Job.id != job_id))
    plan.memory_entries = await PinnedFact.count().where(
        _kept(PinnedFact.created_by == user_id, PinnedFact.story, deleted)
    ) + await LoreEntry.count().where(
        _kept(LoreEntry.created_by == user_id, LoreEntry.story, deleted)
    )
    plan.media_requests = await MediaAsset.count().where(
        _kept(MediaAsset.requested_by == user_id, MediaAsset.story, deleted)
    )
    plan.audit_addresses = await AuditEvent.count().where(
        (AuditEvent.actor_id == user_id) & AuditEvent.ip.is_not_null()
    )
    return plan


def _kept(condition: Any, story: Any, deleted: list[UUID]) -> Any:
    """``condition`` limited to rows outside the stories deleted whole."""
    return condition & story.not_in(deleted) if deleted else condition


async def _delete_story(story_id: UUID) -> None:
    # Children first: the same on SQLite and PostgreSQL, whatever the cascades.
    await MediaAsset.delete().where(MediaAsset.story == story_id)
    await DigitalBook.delete().where(DigitalBook.story == story_id)
    await ModerationItem.delete().where(ModerationItem.story == story_id)
    await ChatMessage.delete().where(ChatMessage.story == story_id)
    await PinnedFact.delete().where(PinnedFact.story == story_id)
    await LoreEntry.delete().where(LoreEntry.story == story_id)
    await Segment.delete().where(Segment.story == story_id)
    await Collaborator.delete().where(Collaborator.story == story_id)
    await Story.delete().where(Story.id == story_id)


async def apply_account_deletion(
    plan: AccountPlan, *, blobs: BlobStore, result: dict[str, Any], now: datetime
) -> dict[str, int]:
    """Delete the files, then change the rows in one transaction; mark the job done."""
    uid = plan.user_id
    for key in plan.blob_keys():
        await blobs.delete(key)
    counts = plan.counts()
    # Sign out first (outside the transaction, like consent.revoke does).
    await refresh.revoke_user(uid, now)
    async with writing():
        for story_id in plan.stories_deleted:
            await _delete_story(story_id)
        for story_id, heir in plan.stories_transferred.items():
            await Story.update({Story.creator: heir, Story.updated_at: now}).where(
                (Story.id == story_id) & (Story.creator == uid)
            )
        if plan.segments_erased:
            await Segment.update(
                {
                    Segment.content: policy.REMOVED_TEXT,
                    Segment.client_msg_id: None,
                    Segment.image_url: None,
                    Segment.audio_url: None,
                    Segment.video_url: None,
                    Segment.visual_effects: None,
                }
            ).where(Segment.id.is_in(plan.segments_erased))
        if plan.media_assets:
            await MediaAsset.delete().where(MediaAsset.id.is_in(list(plan.media_assets)))
        if plan.books:
            await DigitalBook.delete().where(DigitalBook.id.is_in(list(plan.books)))
        if plan.chat_messages:
            await ChatMessage.delete().where(ChatMessage.id.is_in(plan.chat_messages))
        if plan.moderation_items:
            await ModerationItem.delete().where(ModerationItem.id.is_in(plan.moderation_items))
        if plan.mail:
            await MailOutbox.delete().where(MailOutbox.id.is_in(plan.mail))
        await Collaborator.delete().where(Collaborator.user == uid)
        await RefreshToken.delete().where(RefreshToken.user == uid)
        await ConsentRecord.delete().where(ConsentRecord.child == uid)
        await ParentalLink.delete().where(ParentalLink.child == uid)
        await AgeVerificationRequest.delete().where(AgeVerificationRequest.user == uid)
        # Where the account appears as somebody else's parent, reviewer or
        # moderator, the reference is dropped (as ON DELETE SET NULL would).
        await ParentalLink.update({ParentalLink.parent: None}).where(ParentalLink.parent == uid)
        await ConsentRecord.update({ConsentRecord.parent: None}).where(ConsentRecord.parent == uid)
        await AgeVerificationRequest.update({AgeVerificationRequest.reviewer: None}).where(
            AgeVerificationRequest.reviewer == uid
        )
        await ModerationItem.update({ModerationItem.decided_by: None}).where(
            ModerationItem.decided_by == uid
        )
        await DigitalBook.update({DigitalBook.requested_by: None}).where(
            DigitalBook.requested_by == uid
        )
        # What the child wrote for the narrator goes like its chat; media it
        # asked for in a story that stays forgets who asked; its audit trail
        # keeps what happened but not from where.
        await PinnedFact.delete().where(PinnedFact.created_by == uid)
        await LoreEntry.delete().where(LoreEntry.created_by == uid)
        await MediaAsset.update({MediaAsset.requested_by: None}).where(
            MediaAsset.requested_by == uid
        )
        await AuditEvent.update({AuditEvent.ip: None}).where(AuditEvent.actor_id == uid)
        await Job.delete().where((Job.owner == uid) & (Job.id != plan.job_id))
        await User.update(
            {
                User.email: policy.tombstone_email(uid),
                User.password_hash: None,
                User.display_name: policy.TOMBSTONE_NAME,
                User.birth_date_enc: "",
                User.country: None,
                User.status: "deactivated",
                User.google_subject_hash: None,
                User.google_subject_enc: None,
                User.preferences: {},
                User.auth_epoch: User.auth_epoch + 1,
                User.updated_at: now,
            }
        ).where(User.id == uid)
        await Job.update(
            {
                Job.status: "done",
                Job.result: {**result, "deleted": counts},
                Job.error: None,
                Job.updated_at: now,
            }
        ).where(Job.id == plan.job_id)
        await audit.record(
            "account.deleted",
            subject=f"user:{uid}",
            data={"jobId": str(plan.job_id), "reason": result.get("reason"), **counts},
        )
    return counts


async def queue_deletion(user_id: UUID, reason: str, now: datetime) -> UUID | None:
    """Deactivate a ``pendingConsent`` account and queue its deletion (once)."""
    job_id = uuid.uuid4()
    await refresh.revoke_user(user_id, now)
    async with writing():
        moved = (
            await User.update(
                {
                    User.status: "deactivated",
                    User.auth_epoch: User.auth_epoch + 1,
                    User.updated_at: now,
                }
            )
            .where((User.id == user_id) & (User.status == "pendingConsent"))
            .returning(User.id)
        )
        if not moved:
            return None  # consent arrived meanwhile, or another pass got here first
        await Job.insert(
            Job(
                id=job_id,
                owner=user_id,
                kind=policy.ACCOUNT_DELETION,
                status="queued",
                result={"reason": reason},
                created_at=now,
                updated_at=now,
            )
        )
        await audit.record(
            "account.deletionRequested",
            subject=f"user:{user_id}",
            data={"jobId": str(job_id), "reason": reason},
        )
    return job_id


def job_result(value: Any) -> dict[str, Any]:
    """The job's stored result (request details) as a dict."""
    return _json(value)
