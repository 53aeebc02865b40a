"""Composite unique indexes.

SQLite rejects ``ALTER TABLE ... ADD CONSTRAINT``, and raw steps run before a
migration's table creation, so these live in their own migration.
``CREATE UNIQUE INDEX`` means the same on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

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


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storyhub", description=DESCRIPTION)

    # Ask for the engine at run time: a table class would cache the first one.
    async def create_unique_indexes() -> None:
        engine = engine_finder()
        assert engine is not None
        for statement in UNIQUE_INDEXES:
            await engine.run_ddl(statement)

    async def drop_unique_indexes() -> None:
        engine = engine_finder()
        assert engine is not None
        for statement in UNIQUE_INDEXES:
            await engine.run_ddl(f"DROP INDEX {statement.split()[3]}")

    manager.add_raw(create_unique_indexes)
    manager.add_raw_backwards(drop_unique_indexes)
    return manager
