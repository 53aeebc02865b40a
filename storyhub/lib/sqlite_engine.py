"""Piccolo's SQLite engine with two long-lived connections instead of one per query.

Piccolo opens a fresh ``aiosqlite`` connection for every query run outside a
transaction: a new thread, a new SQLite handle and a schema parse each time.
The embedded server paid that on every segment, chat line and WebSocket
upgrade (three queries), and the short-lived allocations left resident holes
in the C heap between long-lived socket objects (docs/benchmarks.md, "Idle
memory per connection").

While :meth:`SharedSQLiteEngine.open` is in effect, queries outside a
transaction run on one of two connections kept open for the process:

- plain SELECTs on a *reader*, one at a time: in WAL mode a reader never
  waits for a writer, but a statement still open on a connection keeps that
  connection's read snapshot, so a SELECT started beside it would not see a
  write committed in between (a resume could then miss the segment just
  acknowledged); one at a time, each SELECT starts from the newest commit;
- everything else on a *writer*, one statement at a time under a lock, each
  committed (or rolled back) before the next starts, so a failed statement
  never leaves an open transaction that a later one would commit.

Piccolo's ``transaction()`` keeps its own connection. storyhub's write
transactions (``storyhub.lib.database.writing``) use
:meth:`SharedSQLiteEngine.write_transaction` instead: ``BEGIN IMMEDIATE`` on
the writer, every query inside it on the writer too, one commit at the end,
the writer's lock held throughout; a nested one joins the outer. Before ``open`` (the
CLI, migrations) and after ``close`` the engine behaves exactly like
Piccolo's, and ``write_transaction`` is Piccolo's immediate transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory


def _is_read(query: str) -> bool:
    """A plain SELECT (Piccolo marks only inserts in ``query_type``, so read the SQL)."""
    return query.lstrip()[:6].upper() == "SELECT"


class _Shared:
    """The two connections and the writer's lock, all bound to one event loop."""

    __slots__ = ("loop", "read_lock", "reader", "write_lock", "writer")

    def __init__(self, reader: aiosqlite.Connection, writer: aiosqlite.Connection) -> None:
        self.loop = asyncio.get_running_loop()
        self.reader = reader
        self.read_lock = asyncio.Lock()
        self.writer = writer
        self.write_lock = asyncio.Lock()


class _WriterTransaction:
    """A transaction open on the shared writer; ``open`` goes false when it ends."""

    __slots__ = ("open", "shared")

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared
        self.open = True


# Like Piccolo's own transaction marker, a context variable: tasks started
# inside the block see it too, but only while the transaction is open.
_writer_transaction: ContextVar[_WriterTransaction | None] = ContextVar(
    "storyhub_sqlite_writer_transaction", default=None
)


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
        async with shared.read_lock:
            await shared.reader.close()

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    @contextlib.asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[None]:
        """One immediate transaction on the shared writer: all or nothing, no new connection.

        Inside one already, it joins it (like Piccolo's nested transactions):
        the lock is held and the outer block commits.
        """
        shared = self._current_shared()
        if shared is None or self.get_version_sync() < 3.35:
            async with self.transaction(transaction_type=TransactionType.immediate):
                yield
            return
        current = _writer_transaction.get()
        if current is not None and current.open and current.shared is shared:
            yield
            return
        async with shared.write_lock:
            marker = _WriterTransaction(shared)
            token = _writer_transaction.set(marker)
            try:
                async with shared.writer.execute("BEGIN IMMEDIATE"):
                    pass
                try:
                    yield
                    await shared.writer.commit()
                except BaseException:
                    await shared.writer.rollback()
                    raise
            finally:
                marker.open = False
                _writer_transaction.reset(token)

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
        marker = _writer_transaction.get()
        if marker is not None and marker.open and marker.shared is shared:
            # Inside write_transaction: its lock is held; commit comes at its end.
            async with shared.writer.execute(query, args or []) as cursor:
                return await cursor.fetchall()
        if _is_read(query):
            async with shared.read_lock, shared.reader.execute(query, args or []) as cursor:
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
