"""What a story holds so far: committed segments and chat, paged in order."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from storyhub.accounts.principal import Principal
from storyhub.stories.access import decode_json, load_access
from storyhub.stories.schemas import ChatMessageOut, ChatPage, SegmentOut, SegmentPage
from storyhub.stories.tables import ChatMessage, Segment

AI_AUTHOR_NAME: Final = "Narrator"
"""``authorName`` of segments without a human author (the AI narrator)."""

# --- segments and chat ---------------------------------------------------------


async def list_segments(
    principal: Principal, story_id: UUID, *, after_seq: int, limit: int
) -> SegmentPage:
    """Committed segments with ``seq > after_seq``, in order."""
    await load_access(principal, story_id)
    rows = (
        await Segment.select(
            Segment.seq,
            Segment.author,
            Segment.author.display_name.as_alias("author_name"),
            Segment.content,
            Segment.created_at,
            Segment.image_url,
            Segment.audio_url,
            Segment.video_url,
            Segment.visual_effects,
        )
        .where((Segment.story == story_id) & (Segment.seq > after_seq))
        .order_by(Segment.seq)
        .limit(limit + 1)
    )
    items = [
        SegmentOut(
            seq=row["seq"],
            author_id=row["author"],
            author_name=row["author_name"] if row["author"] is not None else AI_AUTHOR_NAME,
            content=row["content"],
            created_at=row["created_at"],
            image_url=row["image_url"],
            audio_url=row["audio_url"],
            video_url=row["video_url"],
            visual_effects=decode_json(row["visual_effects"]),
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return SegmentPage(items=items, next_after_seq=items[-1].seq if more else None)


async def list_chat(principal: Principal, story_id: UUID, *, after_id: int, limit: int) -> ChatPage:
    """Chat messages with ``id > after_id``, in order."""
    await load_access(principal, story_id)
    rows = (
        await ChatMessage.select(
            ChatMessage.id,
            ChatMessage.author,
            ChatMessage.author.display_name.as_alias("author_name"),
            ChatMessage.content,
            ChatMessage.created_at,
        )
        .where((ChatMessage.story == story_id) & (ChatMessage.id > after_id))
        .order_by(ChatMessage.id)
        .limit(limit + 1)
    )
    items = [
        ChatMessageOut(
            id=row["id"],
            author_id=row["author"],
            author_name=row["author_name"] if row["author"] is not None else AI_AUTHOR_NAME,
            content=row["content"],
            created_at=row["created_at"],
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return ChatPage(items=items, next_after_id=items[-1].id if more else None)
