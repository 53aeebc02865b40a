"""A revision counter on segments: the AI narrator's last segment can be written again.

One ``add_column`` step (NOT NULL with a default, which both SQLite and
PostgreSQL accept on an existing table); existing rows read revision 0.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-26T00:20:20:000020"
VERSION = "1.38.0"
DESCRIPTION = "segments.revision"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storyhub", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Segment",
        tablename="segments",
        column_name="revision",
        db_column_name="revision",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
