"""Background jobs as the API sees them: owned, authorized, pollable."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from storyhub.accounts.tables import User


class Job(Table, tablename="jobs"):
    """One unit of background work; its id is the ``taskId`` clients poll."""

    id = UUID(primary_key=True)
    owner = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    story_id = UUID(null=True, default=None, index=True)
    kind = Varchar(length=32)
    status = Varchar(length=16, default="queued")
    result = JSON(null=True, default=None)
    error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
