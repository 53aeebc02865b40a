"""Stories, their collaborators, segments and chat."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigSerial,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from storyhub.accounts.tables import User


class Story(Table, tablename="stories"):
    id = UUID(primary_key=True)
    title = Varchar(length=200)
    premise = Text()
    creator = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    age_rating = Varchar(length=16)
    status = Varchar(length=16, default="active")
    visibility = Varchar(length=16, default="private")
    cover_art_url = Text(null=True, default=None)
    settings = JSON(default="{}")
    """aiNarrator, turnSeconds, maxSegmentLength."""
    turn_state = JSON(default="{}")
    """Whose turn it is and its deadline, so both survive a restart."""
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    completed_at = Timestamptz(null=True, default=None)


class Collaborator(Table, tablename="collaborators"):
    """Unique on (story, user): see the migration's raw index."""

    id = BigSerial(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=16)
    joined_at = Timestamptz(default=TimestamptzNow())


class Segment(Table, tablename="segments"):
    """One committed piece of a story.

    Unique on (story, seq) and on (story, client_msg_id): see the migration's
    raw indexes (SQLite rejects ALTER TABLE ... ADD CONSTRAINT).
    """

    id = BigSerial(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade)
    seq = Integer()
    author = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    """``None`` for the AI narrator."""
    content = Text()
    client_msg_id = Varchar(length=64, null=True, default=None)
    image_url = Text(null=True, default=None)
    audio_url = Text(null=True, default=None)
    video_url = Text(null=True, default=None)
    visual_effects = JSON(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    revision = Integer(default=0)
    """0 as first written; +1 each time the AI's segment is written again on request."""


class ChatMessage(Table, tablename="chat_messages"):
    """Chat beside a story, ordered by ``id``; unique on (story, client_msg_id)."""

    id = BigSerial(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    content = Text()
    client_msg_id = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
