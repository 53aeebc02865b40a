"""Usage per media asset: who asked for it and how long it took to make.

Two nullable columns added with plain ``add_column`` steps, which Piccolo
runs the same way on SQLite and PostgreSQL. ``requested_by`` is a bare UUID,
not a foreign key: the usage record outlives the account (and SQLite cannot
add a foreign key to an existing table).
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-26T00:10:10:000010"
VERSION = "1.38.0"
DESCRIPTION = "media usage: requested_by and generation_ms"


def _params() -> dict[str, Any]:
    return {
        "default": None,
        "null": True,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storyhub", description=DESCRIPTION)
    manager.add_column(
        table_class_name="MediaAsset",
        tablename="media_assets",
        column_name="requested_by",
        db_column_name="requested_by",
        column_class_name="UUID",
        column_class=UUID,
        params=_params(),
        schema=None,
    )
    manager.add_column(
        table_class_name="MediaAsset",
        tablename="media_assets",
        column_name="generation_ms",
        db_column_name="generation_ms",
        column_class_name="Integer",
        column_class=Integer,
        params=_params(),
        schema=None,
    )
    return manager
