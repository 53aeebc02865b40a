"""The embedded engine's long-lived SQLite connections (storyhub.lib.sqlite_engine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from piccolo.columns import Integer, Varchar
from piccolo.engine.sqlite import TransactionType
from piccolo.table import Table

from storyhub.lib import database
from storyhub.lib.sqlite_engine import SharedSQLiteEngine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[SharedSQLiteEngine]:
    engine = database.build_engine(f"sqlite:///{tmp_path / 'shared.sqlite'}")
    assert isinstance(engine, SharedSQLiteEngine)
    await engine.run_ddl("PRAGMA journal_mode=WAL")
    await engine.run_ddl(
        "CREATE TABLE note (id INTEGER PRIMARY KEY, name VARCHAR UNIQUE NOT NULL, n INTEGER)"
    )
    await database.open_pool(engine)
    yield engine
    await database.close_pool(engine)


def note_table(engine: SharedSQLiteEngine) -> type[Table]:
    class Note(Table, tablename="note", db=engine):
        name = Varchar(unique=True)
        n = Integer()

    return Note


def count_connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    opened: list[Any] = []
    real = aiosqlite.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        opened.append(kwargs.get("database"))
        return real(*args, **kwargs)

    monkeypatch.setattr(aiosqlite, "connect", connect)
    return opened


async def test_queries_outside_transactions_open_no_connection(
    engine: SharedSQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = note_table(engine)
    opened = count_connects(monkeypatch)
    await note.insert(note(name="a", n=1))
    await note.update({note.n: 2}).where(note.name == "a")
    rows = await note.select(note.name, note.n)
    assert rows == [{"name": "a", "n": 2}]
    assert await note.count() == 1
    assert opened == []


async def test_concurrent_reads_and_writes_all_land(engine: SharedSQLiteEngine) -> None:
    note = note_table(engine)

    async def write(i: int) -> None:
        await note.insert(note(name=f"w{i}", n=i))
        # Read-your-write: with SELECTs overlapping on the reader, one of them
        # used to run on an older snapshot and miss this row (1 run in 5).
        assert await note.exists().where(note.name == f"w{i}")

    await asyncio.gather(*(write(i) for i in range(300)))
    assert await note.count() == 300
    total = await note.select(note.n).output(as_list=True)
    assert sorted(total) == list(range(300))


async def test_a_failed_write_leaves_no_open_transaction(engine: SharedSQLiteEngine) -> None:
    note = note_table(engine)
    await note.insert(note(name="taken", n=1))
    with pytest.raises(Exception, match="UNIQUE"):
        await note.insert(note(name="taken", n=2))
    shared = engine._current_shared()
    assert shared is not None
    assert not shared.writer.in_transaction
    # Another connection can take the write lock at once (no 30 s busy wait).
    async with engine.transaction(transaction_type=TransactionType.immediate):
        await note.insert(note(name="next", n=3))
    assert await note.select(note.name).order_by(note.n).output(as_list=True) == ["taken", "next"]


async def test_a_reader_does_not_wait_for_an_open_write_transaction(
    engine: SharedSQLiteEngine,
) -> None:
    note = note_table(engine)
    await note.insert(note(name="before", n=1))
    inside = asyncio.Event()
    release = asyncio.Event()

    async def hold_writes() -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await note.insert(note(name="uncommitted", n=2))
            inside.set()
            await release.wait()

    holder = asyncio.create_task(hold_writes())
    await inside.wait()
    # Outside the transaction: the committed row only, and no waiting for the lock.
    seen = await asyncio.wait_for(note.select(note.name).output(as_list=True), timeout=5)
    assert seen == ["before"]
    release.set()
    await holder
    assert await note.count() == 2


async def test_another_event_loop_gets_its_own_connections(engine: SharedSQLiteEngine) -> None:
    note = note_table(engine)
    await note.insert(note(name="here", n=1))

    def elsewhere() -> list[str]:
        return asyncio.run(note.select(note.name).output(as_list=True).run())

    assert await asyncio.to_thread(elsewhere) == ["here"]


async def test_after_close_it_behaves_like_piccolos_engine(
    engine: SharedSQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = note_table(engine)
    await database.close_pool(engine)
    opened = count_connects(monkeypatch)
    await note.insert(note(name="late", n=1))
    assert await note.count() == 1
    assert len(opened) == 2
    await database.open_pool(engine)  # the fixture closes it again


async def test_a_write_transaction_commits_on_the_writer_without_a_new_connection(
    engine: SharedSQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = note_table(engine)
    opened = count_connects(monkeypatch)
    inside = asyncio.Event()
    release = asyncio.Event()

    async def two_writes() -> None:
        async with engine.write_transaction():
            await note.insert(note(name="first", n=1))
            await note.update({note.n: 2}).where(note.name == "first")
            # Reads inside the transaction see its own writes.
            assert await note.select(note.n).output(as_list=True) == [2]
            inside.set()
            await release.wait()

    writer = asyncio.create_task(two_writes())
    await inside.wait()
    # The shared reader sees nothing until the commit.
    assert await note.count() == 0
    release.set()
    await writer
    assert await note.select(note.name, note.n) == [{"name": "first", "n": 2}]
    assert opened == []


async def test_a_failed_write_transaction_rolls_back_every_statement(
    engine: SharedSQLiteEngine,
) -> None:
    note = note_table(engine)
    await note.insert(note(name="taken", n=1))

    async def fresh_then_taken() -> None:
        async with engine.write_transaction():
            await note.insert(note(name="fresh", n=2))
            await note.insert(note(name="taken", n=3))

    with pytest.raises(Exception, match="UNIQUE"):
        await fresh_then_taken()
    assert await note.select(note.name).output(as_list=True) == ["taken"]
    shared = engine._current_shared()
    assert shared is not None
    assert not shared.writer.in_transaction
    # The writer is usable (and its lock free) afterwards.
    await asyncio.wait_for(note.insert(note(name="after", n=4)), timeout=5)
    assert await note.count() == 2


async def test_write_transactions_and_single_writes_interleave_safely(
    engine: SharedSQLiteEngine,
) -> None:
    note = note_table(engine)

    async def pair(i: int) -> None:
        async with engine.write_transaction():
            await note.insert(note(name=f"t{i}", n=i))
            await asyncio.sleep(0)
            await note.update({note.n: note.n + 1000}).where(note.name == f"t{i}")

    async def single(i: int) -> None:
        await note.insert(note(name=f"s{i}", n=i))

    await asyncio.gather(*(pair(i) for i in range(20)), *(single(i) for i in range(20)))
    rows = await note.select(note.name, note.n)
    assert len(rows) == 40
    assert all(r["n"] >= 1000 for r in rows if r["name"].startswith("t"))

    # A task started inside a transaction that has ended commits on its own.
    go = asyncio.Event()

    async def later() -> None:
        await go.wait()
        await note.insert(note(name="later", n=0))

    async with engine.write_transaction():
        straggler = asyncio.create_task(later())
    go.set()
    await straggler
    shared = engine._current_shared()
    assert shared is not None
    assert not shared.writer.in_transaction
    assert await note.count() == 41


async def test_before_open_a_write_transaction_is_piccolos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = database.build_engine(f"sqlite:///{tmp_path / 'closed.sqlite'}")
    assert isinstance(engine, SharedSQLiteEngine)
    await engine.run_ddl("CREATE TABLE note (id INTEGER PRIMARY KEY, name VARCHAR, n INTEGER)")
    note = note_table(engine)
    opened = count_connects(monkeypatch)
    async with engine.write_transaction():
        await note.insert(note(name="a", n=1))
        await note.insert(note(name="b", n=2))
    assert len(opened) == 1
    assert await note.count() == 2


async def test_nested_write_transactions_join_the_outer_one(
    engine: SharedSQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = note_table(engine)
    opened = count_connects(monkeypatch)

    async def failing() -> None:
        async with database.writing(engine):
            await note.insert(note(name="outer", n=1))
            async with database.writing(engine):  # joins: no second BEGIN, no deadlock
                await note.insert(note(name="inner", n=2))
            assert await note.count() == 2
            raise RuntimeError("undo both")

    with pytest.raises(RuntimeError, match="undo both"):
        await asyncio.wait_for(failing(), timeout=5)
    assert await note.count() == 0  # the outer rollback took the inner insert too
    async with database.writing(engine), database.writing(engine):
        await note.insert(note(name="kept", n=3))
    assert await note.select(note.name).output(as_list=True) == ["kept"]
    assert opened == []
