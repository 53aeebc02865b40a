"""AI media assets, one per (story, segment seq, kind, segment revision)."""

from __future__ import annotations

from piccolo.columns import UUID, Float, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from storyhub.stories.tables import Story


class MediaAsset(Table, tablename="media_assets"):
    id = UUID(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade, index=True)
    seq = Integer(null=True, default=None)
    """Segment sequence number; ``None`` for cover art."""
    kind = Varchar(length=16)
    prompt = Text()
    provider = Varchar(length=64)
    model = Varchar(length=128)
    blob_key = Text()
    content_type = Varchar(length=64)
    duration_seconds = Float(null=True, default=None)
    requested_by = UUID(null=True, default=None)
    """Who asked for it (usage accounting); ``None`` for assets made without a request."""
    revision = Integer(default=0)
    """The segment's revision the asset was made from (0 for a cover): a rewritten
    AI segment gets new media; older revisions' assets stay until the story goes."""
    generation_ms = Integer(null=True, default=None)
    """Wall time to produce the media (a video's own image and narration included)."""
    created_at = Timestamptz(default=TimestamptzNow())
