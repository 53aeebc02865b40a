"""Media per segment revision (2 of 2): one asset per (story, seq, kind, revision).

The unique index that kept one asset per (story, seq, kind) now includes the
segment's revision. Assets of older revisions stay as rows, so deleting the
story or an account still finds their files.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T15:20:01:000031"
VERSION = "1.38.0"
DESCRIPTION = "media_assets unique on (story, seq, kind, revision)"

OLD_INDEX = "CREATE UNIQUE INDEX media_assets_story_seq_kind_uq ON media_assets (story, seq, kind)"
NEW_INDEX = (
    "CREATE UNIQUE INDEX media_assets_story_seq_kind_rev_uq"
    " ON media_assets (story, seq, kind, revision)"
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storyhub", description=DESCRIPTION)

    # Ask for the engine at run time: a table class would cache the first one.
    async def swap_index() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(NEW_INDEX)
        await engine.run_ddl("DROP INDEX media_assets_story_seq_kind_uq")

    async def restore_index() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(OLD_INDEX)
        await engine.run_ddl("DROP INDEX media_assets_story_seq_kind_rev_uq")

    manager.add_raw(swap_index)
    manager.add_raw_backwards(restore_index)
    return manager
