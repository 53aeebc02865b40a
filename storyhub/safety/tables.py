"""The moderation queue."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from storyhub.accounts.tables import User
from storyhub.stories.tables import Story


class ModerationItem(Table, tablename="moderation_items"):
    """Content the filter blocked or flagged, kept for a moderator's decision."""

    id = UUID(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade, null=True, index=True)
    author = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    source = Varchar(length=16)
    """turn, chat, aiText, aiImagePrompt, memory (a pinned fact), lore (a lore entry),
    title or premise (a story's own)."""
    content = Text()
    verdict = Varchar(length=16)
    categories = JSON(default="[]")
    status = Varchar(length=16, default="pending")
    decided_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)
