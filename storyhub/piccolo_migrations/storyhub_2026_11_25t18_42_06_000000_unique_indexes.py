"""Composite unique indexes.

SQLite rejects ``ALTER TABLE ... ADD CONSTRAINT``, and raw steps run before a
migration's table creation, so these live in their own migration.
``CREATE UNIQUE INDEX`` means the same on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T18:42:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"

UNIQUE_INDEXES = [
    "CREATE UNIQUE INDEX segments_story_seq_uq ON segments (story, seq)",
    "CREATE UNIQUE INDEX segments_story_client_msg_uq ON segments (story, client_msg_id)",
    'CREATE UNIQUE INDEX collaborators_story_user_uq ON collaborators (story, "user")',
    "CREATE UNIQUE INDEX chat_messages_story_client_msg_uq ON chat_messages (story, client_msg_id)",
    "CREATE UNIQUE INDEX media_assets_story_seq_kind_uq ON media_assets (story, seq, kind)",
]


class _Raw(Table, tablename="segments"):
    """Only a handle to run raw SQL on the migration's engine."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storyhub", description=DESCRIPTION)

    async def create_unique_indexes() -> None:
        for statement in UNIQUE_INDEXES:
            await _Raw.raw(statement)

    async def drop_unique_indexes() -> None:
        for statement in UNIQUE_INDEXES:
            name = statement.split()[3]
            await _Raw.raw(f"DROP INDEX {name}")

    manager.add_raw(create_unique_indexes)
    manager.add_raw_backwards(drop_unique_indexes)
    return manager
