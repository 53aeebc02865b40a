"""Story memory (pinned facts) and lore entries.

Plain ``add_table``/``add_column`` steps, which Piccolo runs the same way on
SQLite and PostgreSQL. Both tables are read by story (indexed); positions are
assigned under the story's lock (see ``storyhub.stories.memory_service``), so
no composite unique index is needed.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    UUID,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Story(Table, tablename="stories", schema=None):
    id = UUID(default=UUID4(), null=False, primary_key=True)


class User(Table, tablename="users", schema=None):
    id = UUID(default=UUID4(), null=False, primary_key=True)


ID = "2026-11-26T00:05:05:000005"
VERSION = "1.38.0"
DESCRIPTION = "story memory and lore entries"


def _params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


def _story_fk() -> dict[str, Any]:
    return _params(
        references=Story,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        index=True,
    )


def _user_fk() -> dict[str, Any]:
    return _params(
        references=User,
        on_delete=OnDelete.set_null,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
    )


COLUMNS: dict[tuple[str, str], list[tuple[str, type[Any], dict[str, Any]]]] = {
    ("PinnedFact", "story_memory"): [
        ("id", UUID, _params(default=UUID4(), primary_key=True)),
        ("story", ForeignKey, _story_fk()),
        ("text", Text, _params(default="")),
        ("position", Integer, _params(default=0)),
        ("created_by", ForeignKey, _user_fk()),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("LoreEntry", "lore_entries"): [
        ("id", UUID, _params(default=UUID4(), primary_key=True)),
        ("story", ForeignKey, _story_fk()),
        ("name", Varchar, _params(default="", length=80)),
        ("triggers", JSON, _params(default="[]")),
        ("text", Text, _params(default="")),
        ("created_by", ForeignKey, _user_fk()),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storyhub", description=DESCRIPTION)
    for (class_name, tablename), columns in COLUMNS.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
