"""The audit log: who did what, when; never passwords or tokens."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, BigSerial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_events"):
    id = BigSerial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_id = UUID(null=True, default=None, index=True)
    action = Varchar(length=64, index=True)
    subject = Varchar(length=200, null=True, default=None)
    ip = Varchar(length=64, null=True, default=None)
    data = JSON(default="{}")
