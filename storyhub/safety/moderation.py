"""The moderation queue: what the filter blocked, kept sealed until a moderator decides.

Life of an item::

    record_blocked ─► pending ─┬─ uphold   ─► upheld    (the filter was right)
                               ├─ release  ─► released  (a false positive)
                               └─ escalate ─► escalated ─┬─ uphold  ─► upheld   (admins only)
                                                         └─ release ─► released

The blocked text may hold a child's personal data, so it is sealed with the
field cipher (AES-GCM, bound to ``moderation:<item id>``) before it is
stored, opened only for a moderator's detail view (each view is audited),
and erased by :meth:`ModerationQueue.purge_decided` a retention period after
the decision.

**Releasing does not publish.** A released item is not inserted into its
story after the fact: the room has moved on, and the author was already told
``contentBlocked``. Release only records that the filter was wrong; released
texts form the false-positive list (:meth:`ModerationQueue.false_positives`)
that the safety engineer turns into corpus lines.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, get_args
from uuid import UUID

import msgspec

from storyhub.accounts.principal import Principal
from storyhub.audit import service as audit
from storyhub.audit.tables import AuditEvent
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict, Forbidden, InvalidInput, NotFound
from storyhub.safety.pipeline import Verdict
from storyhub.safety.tables import ModerationItem

log = logging.getLogger(__name__)

Source = Literal["turn", "chat", "aiText", "aiImagePrompt", "memory", "lore", "title", "premise"]
Status = Literal["pending", "upheld", "released", "escalated"]
Decision = Literal["uphold", "release", "escalate"]

SOURCES: Final[tuple[str, ...]] = get_args(Source)
STATUSES: Final[tuple[str, ...]] = get_args(Status)
DECISIONS: Final[tuple[str, ...]] = get_args(Decision)

STATUS_AFTER: Final[dict[str, Status]] = {
    "uphold": "upheld",
    "release": "released",
    "escalate": "escalated",
}
FINAL_STATUSES: Final[tuple[Status, ...]] = ("upheld", "released")
"""Decided for good: the content may be erased after the retention period."""

MAX_NOTE_LENGTH: Final[int] = 500
MAX_STORED_CHARS: Final[int] = 20_000
"""Longer blocked texts are cut before sealing (the filter reads at most 8,000)."""
MAX_PAGE: Final[int] = 100
MAX_HISTORY: Final[int] = 20
"""Decisions shown per item (an item takes at most two: escalate, then decide)."""
DEFAULT_RETENTION_DAYS: Final[int] = 30
"""What the retention job should pass to :meth:`ModerationQueue.purge_decided`."""

ERASED: Final[str] = ""
"""The ``content`` of an item whose text was erased (a sealed value is never empty)."""


# --- views -------------------------------------------------------------------------


class ItemSummary(msgspec.Struct, rename="camel", kw_only=True):
    """One queue entry, without its text (listing never opens sealed content)."""

    id: UUID
    story_id: UUID | None
    author_id: UUID | None
    """``None`` for the AI narrator, or when the author's account was deleted."""
    source: str
    verdict: str
    categories: list[str]
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: UUID | None
    content_erased: bool


class HistoryEntry(msgspec.Struct, rename="camel", kw_only=True):
    """A decision taken on an item (from the audit log)."""

    decision: str
    status: str
    at: datetime
    by: str
    note: str | None = None


class ItemDetail(ItemSummary, kw_only=True):
    """One item for a moderator: the opened text and who and where it came from."""

    content: str | None
    """The blocked text; ``None`` once erased (or if it can no longer be decrypted)."""
    story_title: str | None
    story_rating: str | None
    author_display_name: str | None
    """The display name only: moderators never see an author's email here."""
    author_age_tier: str | None
    history: list[HistoryEntry]


class ItemPage(msgspec.Struct, rename="camel", kw_only=True):
    items: list[ItemSummary]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``None`` on the last page."""


class FalsePositive(msgspec.Struct, rename="camel", kw_only=True):
    """A released text: the filter blocked it, a moderator said it was fine."""

    item_id: UUID
    text: str
    categories: list[str]
    source: str
    decided_at: datetime | None


# --- helpers -----------------------------------------------------------------------


def content_context(item_id: UUID) -> str:
    """The AES-GCM associated data that binds a sealed text to its item."""
    return f"moderation:{item_id}"


def subject(item_id: UUID) -> str:
    """The audit subject for an item."""
    return f"moderation:{item_id}"


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found() -> NotFound:
    return NotFound("There is no such moderation item.", code="moderationItemNotFound")


def encode_cursor(created_at: datetime, item_id: UUID) -> str:
    """An opaque cursor after (``created_at``, ``item_id``)."""
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The position a cursor names; 400 ``invalidCursor`` when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, _, item_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment, UUID(item_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput("The cursor is not valid.", code="invalidCursor") from None


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back naive; they are stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


_SUMMARY_COLUMNS = (
    ModerationItem.id,
    ModerationItem.story,
    ModerationItem.author,
    ModerationItem.source,
    ModerationItem.verdict,
    ModerationItem.categories,
    ModerationItem.status,
    ModerationItem.created_at,
    ModerationItem.decided_at,
    ModerationItem.decided_by,
)


def _summary_fields(row: dict[str, Any]) -> dict[str, Any]:
    categories = row["categories"]
    return {
        "id": row["id"],
        "story_id": row["story"],
        "author_id": row["author"],
        "source": row["source"],
        "verdict": row["verdict"],
        "categories": list(categories) if isinstance(categories, list) else [],
        "status": row["status"],
        "created_at": _aware(row["created_at"]),
        "decided_at": _aware(row["decided_at"]),
        "decided_by": row["decided_by"],
        "content_erased": row["content"] == ERASED,
    }


def _history(events: list[dict[str, Any]]) -> list[HistoryEntry]:
    entries = []
    for event in reversed(events):  # events_for is newest first
        if event["action"] != "moderation.decided":
            continue
        data = event["data"]
        if isinstance(data, str):
            data = msgspec.json.decode(data)
        entries.append(
            HistoryEntry(
                decision=data.get("decision", ""),
                status=data.get("status", ""),
                at=_aware(event["at"]) or _now(),
                by=data.get("by", ""),
                note=data.get("note"),
            )
        )
    return entries


# --- the queue ---------------------------------------------------------------------


class ModerationQueue:
    """Record blocked content and let moderators decide about it.

    Built once per app (or CLI run) with the app's :class:`FieldCipher`; every
    method is a few database statements and safe to call from an actor.
    """

    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    async def record_blocked(
        self,
        *,
        story_id: UUID | None,
        author_id: UUID | None,
        source: Source,
        content: str,
        verdict: Verdict,
    ) -> UUID:
        """Queue a blocked text for review; returns the new item's id.

        ``author_id`` is ``None`` for the AI narrator's text. The text is sealed
        before it reaches the database; the verdict and categories are stored
        as they are (they are the filter's words, not the user's).
        """
        if source not in SOURCES:
            raise ValueError(f"unknown moderation source {source!r}")
        item_id = uuid.uuid4()
        sealed = self._cipher.seal(content[:MAX_STORED_CHARS], context=content_context(item_id))
        await ModerationItem.insert(
            ModerationItem(
                id=item_id,
                story=story_id,
                author=author_id,
                source=source,
                content=sealed,
                verdict=verdict.verdict,
                categories=list(verdict.categories),
                status="pending",
                created_at=_now(),
            )
        )
        return item_id

    async def list_items(
        self,
        *,
        status: Status | None = "pending",
        story_id: UUID | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ItemPage:
        """Items in ``status`` (every status when ``None``), oldest first, a page at a time."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.", code="invalidLimit")
        query = ModerationItem.select(*_SUMMARY_COLUMNS, ModerationItem.content)
        if status is not None:
            query = query.where(ModerationItem.status == status)
        if story_id is not None:
            query = query.where(ModerationItem.story == story_id)
        if cursor is not None:
            after_at, after_id = decode_cursor(cursor)
            query = query.where(
                (ModerationItem.created_at > after_at)
                | ((ModerationItem.created_at == after_at) & (ModerationItem.id > after_id))
            )
        rows = (
            await query.order_by(ModerationItem.created_at, ModerationItem.id)
            .limit(limit + 1)
            .output(load_json=True)
        )
        items = [ItemSummary(**_summary_fields(row)) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last.created_at, last.id)
        return ItemPage(items=items, next_cursor=next_cursor)

    async def _load(self, item_id: UUID) -> dict[str, Any] | None:
        row: dict[str, Any] | None = (
            await ModerationItem.select(
                *_SUMMARY_COLUMNS,
                ModerationItem.content,
                ModerationItem.story.title.as_alias("story_title"),
                ModerationItem.story.age_rating.as_alias("story_rating"),
                ModerationItem.author.display_name.as_alias("author_display_name"),
                ModerationItem.author.age_tier.as_alias("author_age_tier"),
            )
            .where(ModerationItem.id == item_id)
            .first()
            .output(load_json=True)
        )
        return row

    def _open(self, row: dict[str, Any]) -> str | None:
        sealed: str = row["content"]
        if sealed == ERASED:
            return None
        try:
            return self._cipher.open(sealed, context=content_context(row["id"]))
        except ValueError:
            # A rotated-away key or a damaged row: the moderator can still decide.
            log.error("moderation item %s: stored content cannot be decrypted", row["id"])
            return None

    async def _detail(self, row: dict[str, Any]) -> ItemDetail:
        # Decisions only: views are audited too and would crowd them out of a page.
        events = (
            await AuditEvent.select(AuditEvent.action, AuditEvent.at, AuditEvent.data)
            .where(
                (AuditEvent.subject == subject(row["id"]))
                & (AuditEvent.action == "moderation.decided")
            )
            .order_by(AuditEvent.id, ascending=False)
            .limit(MAX_HISTORY)
        )
        return ItemDetail(
            **_summary_fields(row),
            content=self._open(row),
            story_title=row["story_title"],
            story_rating=row["story_rating"],
            author_display_name=row["author_display_name"],
            author_age_tier=row["author_age_tier"],
            history=_history(events),
        )

    async def get_item(
        self, item_id: UUID, *, viewer_id: UUID | None, ip: str | None = None
    ) -> ItemDetail:
        """One item with its opened text; the view is audited (``moderation.viewed``)."""
        row = await self._load(item_id)
        if row is None:
            raise _not_found()
        await audit.record(
            "moderation.viewed",
            actor_id=viewer_id,
            subject=subject(item_id),
            ip=ip,
            data={"by": "cli" if viewer_id is None else str(viewer_id)},
        )
        return await self._detail(row)

    async def decide(
        self,
        item_id: UUID,
        decision: Decision,
        note: str | None = None,
        *,
        reviewer: Principal | None,
        ip: str | None = None,
    ) -> ItemDetail:
        """Uphold, release or escalate an item; audited as ``moderation.decided``.

        ``reviewer`` is ``None`` for the operator at the shell, who may do what an
        admin may. Rules: nobody decides about their own content (403
        ``ownContent``); an escalated item is decided by an admin (403
        ``escalatedToAdmin``) and cannot be escalated again; a decided item
        stays decided (409 ``alreadyDecided``, also when another moderator won
        a race).
        """
        if decision not in DECISIONS:
            raise InvalidInput(
                f"decision must be one of {', '.join(DECISIONS)}.", code="invalidDecision"
            )
        if note is not None and len(note) > MAX_NOTE_LENGTH:
            raise InvalidInput(
                f"A note may be at most {MAX_NOTE_LENGTH} characters.", code="noteTooLong"
            )
        row = await self._load(item_id)
        if row is None:
            raise _not_found()
        if reviewer is not None and row["author"] == reviewer.id:
            raise Forbidden(
                "You cannot decide about content you wrote yourself.", code="ownContent"
            )
        current: str = row["status"]
        if current in FINAL_STATUSES:
            raise Conflict(f"This item was already decided ({current}).", code="alreadyDecided")
        if current == "escalated":
            if reviewer is not None and reviewer.role != "admin":
                raise Forbidden(
                    "This item was escalated; an admin decides it.", code="escalatedToAdmin"
                )
            if decision == "escalate":
                raise Conflict("This item is already escalated.", code="alreadyEscalated")
        status = STATUS_AFTER[decision]
        reviewer_id = None if reviewer is None else reviewer.id
        changes: dict[Any, Any] = {ModerationItem.status: status}
        if status in FINAL_STATUSES:
            now = _now()
            changes[ModerationItem.decided_by] = reviewer_id
            changes[ModerationItem.decided_at] = now
        changed = (
            await ModerationItem.update(changes)
            .where((ModerationItem.id == item_id) & (ModerationItem.status == current))
            .returning(ModerationItem.id)
        )
        if not changed:
            raise Conflict("Another moderator decided this item first.", code="alreadyDecided")
        data: dict[str, Any] = {
            "decision": decision,
            "status": status,
            "by": "cli" if reviewer_id is None else str(reviewer_id),
            "source": row["source"],
            "categories": row["categories"],
        }
        if note:
            data["note"] = note
        await audit.record(
            "moderation.decided", actor_id=reviewer_id, subject=subject(item_id), ip=ip, data=data
        )
        fresh = await self._load(item_id)
        assert fresh is not None  # items are never deleted here
        return await self._detail(fresh)

    async def purge_decided(
        self,
        older_than: timedelta,
        *,
        now: datetime | None = None,
        actor_id: UUID | None = None,
        by: str = "retention",
    ) -> int:
        """Erase the text of items decided (upheld or released) more than ``older_than`` ago.

        Pending and escalated items keep their text: someone still has to
        decide. The rows stay (status, categories, who decided) as the record.
        Returns how many texts were erased; the purge is audited.
        """
        if older_than < timedelta(0):
            raise InvalidInput("The retention period cannot be negative.", code="invalidRetention")
        cutoff = (now or _now()) - older_than
        erased = (
            await ModerationItem.update({ModerationItem.content: ERASED})
            .where(
                ModerationItem.status.is_in(list(FINAL_STATUSES))
                & (ModerationItem.decided_at < cutoff)
                & (ModerationItem.content != ERASED)
            )
            .returning(ModerationItem.id)
        )
        await audit.record(
            "moderation.purged",
            actor_id=actor_id,
            subject="moderation",
            data={"erased": len(erased), "olderThanDays": older_than.days, "by": by},
        )
        return len(erased)

    async def false_positives(self, *, limit: int = 500) -> list[FalsePositive]:
        """Released texts not yet erased, newest decision first: the filter's false positives.

        For the safety engineer, to label and add to the corpus before the
        retention period erases them. Exporting is audited.
        """
        rows = (
            await ModerationItem.select(
                ModerationItem.id,
                ModerationItem.content,
                ModerationItem.categories,
                ModerationItem.source,
                ModerationItem.decided_at,
            )
            .where((ModerationItem.status == "released") & (ModerationItem.content != ERASED))
            .order_by(ModerationItem.decided_at, ascending=False)
            .limit(limit)
            .output(load_json=True)
        )
        found = []
        for row in rows:
            text = self._open(row)
            if text is None:
                continue
            found.append(
                FalsePositive(
                    item_id=row["id"],
                    text=text,
                    categories=list(row["categories"] or []),
                    source=row["source"],
                    decided_at=_aware(row["decided_at"]),
                )
            )
        await audit.record(
            "moderation.falsePositivesExported", subject="moderation", data={"count": len(found)}
        )
        return found
