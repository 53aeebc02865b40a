"""Media per segment revision (1 of 2): the column.

``media_assets.revision`` (NOT NULL, default 0: every existing asset was made
from revision 0 or is a cover, which has none) is the revision of the segment
the asset was made from, so a rewritten AI segment gets new media instead of
its old text's. The next migration moves the unique index onto it: Piccolo
runs a migration's raw steps before its column steps.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T15:20:00:000030"
VERSION = "1.38.0"
DESCRIPTION = "media_assets.revision"



async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storyhub", description=DESCRIPTION)
    manager.add_column(
        table_class_name="MediaAsset",
        tablename="media_assets",
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
