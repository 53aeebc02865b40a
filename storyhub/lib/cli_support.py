"""What every ``storyhub admin ...`` command does around its own work.

Load the settings (exit 2 with the variable's name on a bad value), open the
database those settings name, migrate it, run the work, close the pool, and
turn a :class:`~storyhub.lib.errors.StoryhubError` into one line on stderr
with its stable code (exit 1). Domains pass their own work and, because
``lib`` imports no domain, the table list (``storyhub.piccolo_app.TABLES``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.base import Engine
from piccolo.table import Table

from storyhub.lib import database
from storyhub.lib.errors import StoryhubError
from storyhub.settings import Settings, SettingsError, load_settings

EXIT_FAILED = 1
"""The command ran and refused (a :class:`StoryhubError`)."""
EXIT_BAD_SETTINGS = 2
"""The environment names a bad setting; nothing was opened."""


def settings_or_exit() -> Settings:
    """The settings from the environment, or ``SystemExit(2)`` naming the bad variable."""
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"storyhub: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None


@asynccontextmanager
async def open_database(
    settings: Settings, tables: Sequence[type[Table]], *, pool_size: int = 2
) -> AsyncIterator[Engine[Any]]:
    """The database named by ``settings``, migrated and bound to ``tables``, for one command.

    Migrating first means a command works on a fresh data dir exactly as the
    server would (the server also migrates at start-up).
    """
    engine = database.build_engine(settings.database_url)
    await database.migrate(engine, list(tables))
    await database.open_pool(engine, max_size=pool_size)
    try:
        yield engine
    finally:
        await database.close_pool(engine)


def run_with_database(
    tables: Sequence[type[Table]], work: Callable[[Settings], Awaitable[int]]
) -> int:
    """Run ``work(settings)`` with the database open; return the process exit code.

    Settings errors exit 2; a :class:`StoryhubError` is printed as
    ``storyhub: <message> (<code>)`` and exits 1, so scripts can rely on both.
    """
    settings = settings_or_exit()

    async def main() -> int:
        async with open_database(settings, tables):
            return await work(settings)

    try:
        return asyncio.run(main())
    except StoryhubError as exc:
        print(f"storyhub: {exc.message} ({exc.code})", file=sys.stderr)
        return EXIT_FAILED
