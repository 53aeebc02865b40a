"""Story memory (pinned facts) and lore entries: what the AI narrator is told.

Both are written by a story's writers over REST (``memory_controllers.py``)
and read by the narrator's prompt builder (``storyhub.media.prompting``).
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from storyhub.accounts.tables import User
from storyhub.stories.tables import Story


class PinnedFact(Table, tablename="story_memory"):
    """One fact the narrator always gets, in ``position`` order (oldest first)."""

    id = UUID(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade, index=True)
    text = Text()
    position = Integer()
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    """``None`` once the writer's account is deleted."""
    created_at = Timestamptz(default=TimestamptzNow())


class LoreEntry(Table, tablename="lore_entries"):
    """Background the narrator gets only while one of its trigger words is in play."""

    id = UUID(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=80)
    triggers = JSON(default="[]")
    """A JSON list of trigger words or phrases (normalised whitespace)."""
    text = Text()
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
