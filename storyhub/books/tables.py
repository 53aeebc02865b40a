"""Digital books built from stories."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from storyhub.accounts.tables import User
from storyhub.stories.tables import Story


class DigitalBook(Table, tablename="digital_books"):
    id = UUID(primary_key=True)
    story = ForeignKey(references=Story, on_delete=OnDelete.cascade, index=True)
    requested_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    format = Varchar(length=8)
    status = Varchar(length=16, default="pending")
    draft = Boolean(default=False)
    blob_key = Text(null=True, default=None)
    size_bytes = Integer(null=True, default=None)
    error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    completed_at = Timestamptz(null=True, default=None)
