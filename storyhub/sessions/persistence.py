"""Database access for story sessions: segments, chat, turn state, membership.

The actor is the only writer of segments and turn state for its story. Each
write that an ``ack`` depends on is committed before the function returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.query.functions.aggregate import Max

from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import User
from storyhub.lib import database
from storyhub.stories.schemas import SEGMENT_LENGTH_DEFAULT, TURN_SECONDS_DEFAULT
from storyhub.stories.tables import ChatMessage, Collaborator, Segment, Story

# The stories API writes these settings; the defaults cover rows written without them.
DEFAULT_TURN_SECONDS = float(TURN_SECONDS_DEFAULT)
DEFAULT_VOTE_SECONDS = 60.0
DEFAULT_MAX_SEGMENT_LENGTH = SEGMENT_LENGTH_DEFAULT
MIN_TIMER_SECONDS = 1.0
"""Shorter turn or vote times would make an actor skip turns in a tight loop."""


class StoryRecord(msgspec.Struct, frozen=True):
    """What an actor and the gateway need to know about a story."""

    id: UUID
    creator: UUID
    age_rating: str
    status: str
    settings: dict[str, Any]
    turn_state: dict[str, Any]

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def ai_narrator(self) -> bool:
        return bool(self.settings.get("aiNarrator", False))

    @property
    def turn_seconds(self) -> float:
        return max(
            MIN_TIMER_SECONDS, _positive(self.settings.get("turnSeconds"), DEFAULT_TURN_SECONDS)
        )

    @property
    def vote_seconds(self) -> float:
        return max(
            MIN_TIMER_SECONDS, _positive(self.settings.get("voteSeconds"), DEFAULT_VOTE_SECONDS)
        )

    @property
    def max_segment_length(self) -> int:
        return int(_positive(self.settings.get("maxSegmentLength"), DEFAULT_MAX_SEGMENT_LENGTH))


def completed(record: StoryRecord, turn_state: dict[str, Any]) -> StoryRecord:
    """``record`` as it reads after :func:`complete_story`."""
    return msgspec.structs.replace(record, status="completed", turn_state=turn_state)


def _positive(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


class SegmentRecord(msgspec.Struct, frozen=True):
    seq: int
    author_id: UUID | None
    content: str
    created_at: datetime
    client_msg_id: str | None = None
    image_url: str | None = None
    audio_url: str | None = None
    video_url: str | None = None
    revision: int = 0


class ChatRecord(msgspec.Struct, frozen=True):
    id: int
    author_id: UUID | None
    content: str
    created_at: datetime
    client_msg_id: str | None = None


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = msgspec.json.decode(value) if value else {}
    return value if isinstance(value, dict) else {}


_sqlite_writers: dict[int, asyncio.Lock] = {}
"""One write lock per SQLite engine (keyed by ``id``: engines are not weak-referenceable)."""


@asynccontextmanager
async def _writing(transaction: bool = True) -> AsyncIterator[None]:
    """A write (in a transaction unless it is a single statement).

    SQLite allows one writer at a time, and a writer that finds the file locked
    sleeps in SQLite's busy handler (up to 100 ms per try): with many actors
    that turned into seconds of latency. On SQLite, this process's session
    writes therefore queue on one asyncio lock and take the write lock up front.
    """
    engine = Story._meta.db
    if isinstance(engine, SQLiteEngine):
        lock = _sqlite_writers.setdefault(id(engine), asyncio.Lock())
        async with lock:
            if not transaction:
                yield
                return
            async with database.writing(engine):
                yield
    elif transaction:
        async with engine.transaction():
            yield
    else:
        yield


async def prepare_database(engine: Any) -> None:
    """SQLite: switch the file to write-ahead logging (persistent, idempotent).

    In the default rollback-journal mode every commit fsyncs several times and
    readers block writers; measured with 20 live stories, WAL cut the p99 of
    submit-to-delivery latency from ~200 ms to a few ms. PostgreSQL: nothing.
    """
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def load_story(story_id: UUID) -> StoryRecord | None:
    """The story, or ``None`` when there is no such story."""
    row = (
        await Story.select(
            Story.id,
            Story.creator,
            Story.age_rating,
            Story.status,
            Story.settings,
            Story.turn_state,
        )
        .where(Story.id == story_id)
        .first()
    )
    if row is None:
        return None
    return StoryRecord(
        id=row["id"],
        creator=row["creator"],
        age_rating=row["age_rating"],
        status=row["status"],
        settings=_json(row["settings"]),
        turn_state=_json(row["turn_state"]),
    )


async def collaborator_role(story_id: UUID, user_id: UUID) -> str | None:
    """The user's stored role on the story (``author``/``editor``/``viewer``) or ``None``."""
    row = (
        await Collaborator.select(Collaborator.role)
        .where((Collaborator.story == story_id) & (Collaborator.user == user_id))
        .first()
    )
    return None if row is None else str(row["role"])


async def load_principal(user_id: UUID) -> Principal | None:
    """The user as a Principal (for ticket auth and re-authorization)."""
    row = (
        await User.select(
            User.id,
            User.email,
            User.display_name,
            User.role,
            User.age_tier,
            User.status,
            User.auth_epoch,
        )
        .where(User.id == user_id)
        .first()
    )
    return None if row is None else msgspec.convert(row, Principal)


async def last_seq(story_id: UUID) -> int:
    """The highest committed seq (0 when the story has no segment)."""
    row = (
        await Segment.select(Max(Segment.seq, alias="top")).where(Segment.story == story_id).first()
    )
    top = None if row is None else row.get("top")
    return int(top or 0)


_SEGMENT_COLUMNS = (
    Segment.seq,
    Segment.author,
    Segment.content,
    Segment.created_at,
    Segment.client_msg_id,
    Segment.image_url,
    Segment.audio_url,
    Segment.video_url,
    Segment.revision,
)


def _segment(row: dict[str, Any]) -> SegmentRecord:
    return SegmentRecord(
        seq=row["seq"],
        author_id=row["author"],
        content=row["content"],
        created_at=row["created_at"],
        client_msg_id=row["client_msg_id"],
        image_url=row["image_url"],
        audio_url=row["audio_url"],
        video_url=row["video_url"],
        revision=int(row["revision"] or 0),
    )


async def segment_at(story_id: UUID, seq: int) -> SegmentRecord | None:
    """The segment ``seq`` of the story, if committed."""
    row = (
        await Segment.select(*_SEGMENT_COLUMNS)
        .where((Segment.story == story_id) & (Segment.seq == seq))
        .first()
    )
    return None if row is None else _segment(row)


async def segment_by_client_msg_id(story_id: UUID, client_msg_id: str) -> SegmentRecord | None:
    """The segment a client already created with this id, if any."""
    row = (
        await Segment.select(*_SEGMENT_COLUMNS)
        .where((Segment.story == story_id) & (Segment.client_msg_id == client_msg_id))
        .first()
    )
    return None if row is None else _segment(row)


async def segments_after(story_id: UUID, after_seq: int, limit: int = 500) -> list[SegmentRecord]:
    """Segments with ``seq > after_seq``, in order, at most ``limit``."""
    rows = (
        await Segment.select(*_SEGMENT_COLUMNS)
        .where((Segment.story == story_id) & (Segment.seq > after_seq))
        .order_by(Segment.seq)
        .limit(limit)
    )
    return [_segment(row) for row in rows]


# The two writes every turn and chat line makes, as one raw statement each on
# PostgreSQL: building them with the query builder (and a transaction for the
# segment) cost 1.0 ms of CPU per segment and 0.42 ms per chat line, against
# 0.26 and 0.25 ms raw (docs/benchmarks.md, "Per-message server work"). A
# data-modifying CTE is one atomic statement, so the segment and the turn
# state it leads to still commit together. SQLite has no DML in CTEs and keeps
# the query builder. Columns not named take their database defaults.
_COMMIT_SEGMENT_PG = """
WITH inserted AS (
    INSERT INTO segments (story, seq, author, content, client_msg_id, created_at)
    VALUES ({}, {}, {}, {}, {}, {})
    RETURNING story, created_at
)
UPDATE stories SET turn_state = {}, updated_at = inserted.created_at
FROM inserted WHERE stories.id = inserted.story
"""
# Chat commits without waiting for its WAL flush (synchronous_commit off for
# this statement's transaction alone): the row is committed, ordered and
# visible before the broadcast as ever, but a crash of the PostgreSQL server
# itself (not of storyhub) may lose the last ~0.6 s of chat. Segments keep
# the full guarantee. Two thirds of the writes at 200 x 5 are chat, and
# waiting for their flushes put 50-100 ms stalls into the p99.
_INSERT_CHAT_PG = """
INSERT INTO chat_messages (story, author, content, client_msg_id, created_at)
SELECT {}, {}, {}, {}, {}
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed
RETURNING id
"""


async def commit_segment(
    story_id: UUID,
    *,
    seq: int,
    author_id: UUID | None,
    content: str,
    client_msg_id: str | None,
    turn_state: dict[str, Any],
) -> SegmentRecord:
    """Insert the segment and the turn state it leads to, in one transaction.

    Raises the driver's unique violation if ``seq`` or ``client_msg_id`` is
    taken (see :func:`storyhub.lib.errors.is_unique_violation`).
    """
    now = datetime.now(UTC)
    state = msgspec.json.encode(turn_state).decode()
    if not isinstance(Story._meta.db, SQLiteEngine):
        await Segment.raw(
            _COMMIT_SEGMENT_PG, story_id, seq, author_id, content, client_msg_id, now, state
        )
    else:
        async with _writing():
            await Segment.insert(
                Segment(
                    story=story_id,
                    seq=seq,
                    author=author_id,
                    content=content,
                    client_msg_id=client_msg_id,
                    created_at=now,
                )
            )
            await Story.update({Story.turn_state: state, Story.updated_at: now}).where(
                Story.id == story_id
            )
    return SegmentRecord(
        seq=seq, author_id=author_id, content=content, created_at=now, client_msg_id=client_msg_id
    )


async def revise_ai_segment(
    story_id: UUID, *, seq: int, content: str, turn_state: dict[str, Any]
) -> SegmentRecord | None:
    """Replace the AI's segment ``seq`` with new text (revision + 1) and save the turn
    state it leads to, in one transaction.

    ``None`` (and nothing written) when ``seq`` is not the AI's, or no longer the
    story's last segment: a revision never rewrites what a later turn followed.
    """
    now = datetime.now(UTC)
    async with _writing():
        current = await segment_at(story_id, seq)
        later = await Segment.exists().where((Segment.story == story_id) & (Segment.seq > seq))
        if current is None or current.author_id is not None or later:
            return None
        revision = current.revision + 1
        # The old text's media no longer illustrates this segment: unlinked here,
        # kept as assets of the old revision (the story's deletion still finds
        # their files); asking again makes media for the new text.
        await Segment.update(
            {
                Segment.content: content,
                Segment.revision: revision,
                Segment.image_url: None,
                Segment.audio_url: None,
                Segment.video_url: None,
                Segment.visual_effects: None,
            }
        ).where((Segment.story == story_id) & (Segment.seq == seq))
        await Story.update(
            {Story.turn_state: msgspec.json.encode(turn_state).decode(), Story.updated_at: now}
        ).where(Story.id == story_id)
    return msgspec.structs.replace(
        current,
        content=content,
        revision=revision,
        image_url=None,
        audio_url=None,
        video_url=None,
    )


async def save_turn_state(story_id: UUID, turn_state: dict[str, Any]) -> None:
    """Persist whose turn it is and until when."""
    async with _writing(transaction=False):
        await Story.update({Story.turn_state: msgspec.json.encode(turn_state).decode()}).where(
            Story.id == story_id
        )


async def complete_story(story_id: UUID, turn_state: dict[str, Any]) -> datetime:
    """Mark the story completed (idempotent); returns when it ended."""
    now = datetime.now(UTC)
    async with _writing(transaction=False):
        await Story.update(
            {
                Story.status: "completed",
                Story.completed_at: now,
                Story.updated_at: now,
                Story.turn_state: msgspec.json.encode(turn_state).decode(),
            }
        ).where(Story.id == story_id)
    return now


_CHAT_COLUMNS = (
    ChatMessage.id,
    ChatMessage.author,
    ChatMessage.content,
    ChatMessage.created_at,
    ChatMessage.client_msg_id,
)


def _chat(row: dict[str, Any]) -> ChatRecord:
    return ChatRecord(
        id=row["id"],
        author_id=row["author"],
        content=row["content"],
        created_at=row["created_at"],
        client_msg_id=row["client_msg_id"],
    )


async def chat_by_client_msg_id(story_id: UUID, client_msg_id: str) -> ChatRecord | None:
    row = (
        await ChatMessage.select(*_CHAT_COLUMNS)
        .where((ChatMessage.story == story_id) & (ChatMessage.client_msg_id == client_msg_id))
        .first()
    )
    return None if row is None else _chat(row)


async def insert_chat(
    story_id: UUID, author_id: UUID, content: str, client_msg_id: str
) -> ChatRecord:
    """Store one chat message (unique on story + client message id); one statement."""
    now = datetime.now(UTC)
    if not isinstance(ChatMessage._meta.db, SQLiteEngine):
        rows = await ChatMessage.raw(
            _INSERT_CHAT_PG, story_id, author_id, content, client_msg_id, now
        )
    else:
        async with _writing(transaction=False):
            rows = await ChatMessage.insert(
                ChatMessage(
                    story=story_id,
                    author=author_id,
                    content=content,
                    client_msg_id=client_msg_id,
                    created_at=now,
                )
            )
    return ChatRecord(
        id=int(rows[0]["id"]),
        author_id=author_id,
        content=content,
        created_at=now,
        client_msg_id=client_msg_id,
    )
