"""Build the Piccolo engine from settings and bind every table to it.

Piccolo finds its engine through ``PICCOLO_CONF``; storyhub points that at
:mod:`storyhub.piccolo_conf` and swaps its ``DB`` here, so migrations, the
app and the CLI all use the engine the settings name.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from storyhub.lib.sqlite_engine import SharedSQLiteEngine

CONF_MODULE = "storyhub.piccolo_conf"


def build_engine(database_url: str) -> Engine[Any]:
    """An engine for ``sqlite:///path`` or ``postgresql://...`` (not yet connected)."""
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # A busy timeout lets a writer wait for another instead of failing at once.
        return SharedSQLiteEngine(path=str(path), timeout=30)
    parts = urlsplit(database_url)
    config: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "database": parts.path.lstrip("/"),
    }
    if parts.password:
        config["password"] = unquote(parts.password)
    return PostgresEngine(config=config)


def install_engine(engine: Engine[Any], tables: list[type[Table]]) -> None:
    """Make ``engine`` the one every table and every migration uses."""
    # Piccolo's finder reads PICCOLO_CONF itself; point it at our module.
    os.environ.setdefault("PICCOLO_CONF", CONF_MODULE)
    conf = importlib.import_module(CONF_MODULE)
    conf.DB = engine
    from piccolo.apps.migrations.tables import Migration

    for table in [*tables, Migration]:
        table._meta._db = engine


def writing(engine: Engine[Any]) -> AbstractAsyncContextManager[Any]:
    """A write transaction; nested ones join the outer one.

    SQLite takes the write lock at once (``BEGIN IMMEDIATE``): two deferred
    transactions could both read and then fail to upgrade. While the embedded
    engine is open it runs on its shared writer connection instead of opening
    one (:meth:`SharedSQLiteEngine.write_transaction`).
    """
    if isinstance(engine, SharedSQLiteEngine):
        return engine.write_transaction()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    transaction: AbstractAsyncContextManager[Any] = engine.transaction()
    return transaction


async def open_pool(engine: Engine[Any], max_size: int = 10) -> None:
    """Start a PostgreSQL pool, or SQLite's long-lived reader and writer connections."""
    if isinstance(engine, PostgresEngine):
        # asyncpg's default min_size is 10, above a small max_size: pass both.
        await engine.start_connection_pool(min_size=1, max_size=max_size, reset=_keep_session_as_is)
    elif isinstance(engine, SharedSQLiteEngine):
        await engine.open()


async def _keep_session_as_is(_: Any) -> None:
    """The pool's reset on release, instead of asyncpg's default query.

    asyncpg rolls back an open transaction either way; its default also sends
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` after every
    query (a round trip each time). Pool connections here never hold session
    state: Piccolo issues plain statements and transactions, and advisory locks
    live on side connections (:func:`migrate`, ``retention.service``).
    """


async def close_pool(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, SharedSQLiteEngine):
        await engine.close()


async def ping(engine: Engine[Any]) -> None:
    """Raise if the database does not answer a trivial query."""
    await engine._run_in_new_connection("SELECT 1")


MIGRATION_LOCK_KEY = 7_316_001  # any constant shared by every storyhub process


async def migrate(engine: Engine[Any], tables: list[type[Table]]) -> None:
    """Apply every pending migration of the storyhub app to ``engine``.

    On PostgreSQL several nodes may start at once: an advisory lock held on a
    side connection makes them take turns, and the later ones find nothing
    left to do.
    """
    install_engine(engine, tables)
    from piccolo.apps.migrations.commands.forwards import run_forwards

    async def forwards() -> None:
        # Piccolo prints progress; keep stdout for the caller's own output.
        with contextlib.redirect_stdout(io.StringIO()) as out:
            result = await run_forwards(app_name="storyhub", migration_id="all")
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}\n{out.getvalue()}")

    if not isinstance(engine, PostgresEngine):
        await forwards()
        return
    connection = await engine.get_new_connection()
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        try:
            await forwards()
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await connection.close()
