"""Piccolo's SQLite engine with two long-lived connections instead of one per query.

Piccolo opens a fresh ``aiosqlite`` connection for every query run outside a
transaction: a new thread, a new SQLite handle and a schema parse each time.
The embedded server paid that on every segment, chat line and WebSocket
upgrade (three queries), and the short-lived allocations left resident holes
in the C heap between long-lived socket objects (docs/benchmarks.md, "Idle
memory per connection").

While :meth:`SharedSQLiteEngine.open` is in effect, queries outside a
transaction run on one of two connections kept open for the process:

- plain SELECTs on a *reader*: in WAL mode a reader never waits for a writer, and
  statements on one connection may interleave (each has its own cursor, and
  SQLite autocommits a lone SELECT);
- everything else on a *writer*, one statement at a time under a lock, each
  committed (or rolled back) before the next starts, so a failed statement
  never leaves an open transaction that a later one would commit.

Transactions keep their own connection, as in Piccolo. Before ``open`` (the
CLI, migrations) and after ``close`` the engine behaves exactly like
Piccolo's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, dict_factory


def _is_read(query: str) -> bool:
    """A plain SELECT (Piccolo marks only inserts in ``query_type``, so read the SQL)."""
    return query.lstrip()[:6].upper() == "SELECT"


class _Shared:
    """The two connections and the writer's lock, all bound to one event loop."""

    __slots__ = ("loop", "reader", "write_lock", "writer")

    def __init__(self, reader: aiosqlite.Connection, writer: aiosqlite.Connection) -> None:
        self.loop = asyncio.get_running_loop()
        self.reader = reader
        self.writer = writer
        self.write_lock = asyncio.Lock()


class SharedSQLiteEngine(SQLiteEngine):
    """A :class:`SQLiteEngine` that can keep a reader and a writer connection open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shared: _Shared | None = None

    async def open(self) -> None:
        """Keep two connections open for queries outside transactions, on this loop."""
        if self._shared is not None:
            return
        reader = await self._connect()
        writer = await self._connect()
        self._shared = _Shared(reader, writer)

    async def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is None:
            return
        async with shared.write_lock:
            await shared.writer.close()
        await shared.reader.close()

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    def _current_shared(self) -> _Shared | None:
        shared = self._shared
        # A connection's futures belong to the loop that opened it; another
        # loop (a test's, a CLI's asyncio.run) gets Piccolo's behaviour.
        if shared is None or shared.loop is not asyncio.get_running_loop():
            return None
        return shared

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        shared = self._current_shared()
        if shared is None or self.get_version_sync() < 3.35:
            return await super()._run_in_new_connection(query, args, query_type, table)
        if _is_read(query):
            async with shared.reader.execute(query, args or []) as cursor:
                return await cursor.fetchall()
        async with shared.write_lock:
            try:
                async with shared.writer.execute(query, args or []) as cursor:
                    rows = await cursor.fetchall()
                await shared.writer.commit()
            except BaseException:
                await shared.writer.rollback()
                raise
            return rows
