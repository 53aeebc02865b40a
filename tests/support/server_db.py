"""Direct SQL against a test server's own database (SQLite file or PostgreSQL).

End-to-end tests use this to arrange what no public endpoint creates yet
(users before registration exists, segments the actor would write). Write
statements with ``?`` placeholders; they are rewritten to ``$n`` for
PostgreSQL. UUIDs and datetimes are passed the way Piccolo stores them on
each engine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.server import ServerProcess


def database_url(server: ServerProcess) -> str:
    url = server.env.get("STORYHUB_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(server.env['STORYHUB_DATA_DIR']) / 'storyhub.sqlite3'}"


def _sqlite_param(value: Any) -> Any:
    # Piccolo keeps UUIDs and timestamps as text on SQLite (str() formats match).
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    return value


def _to_dollar(statement: str) -> str:
    parts = statement.split("?")
    out = parts[0]
    for index, part in enumerate(parts[1:], start=1):
        out += f"${index}{part}"
    return out


async def _pg(url: str, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(_to_dollar(statement), *params)
        return [tuple(row) for row in rows]
    finally:
        await conn.close()


def execute(server: ServerProcess, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement in the server's database and return any rows."""
    url = database_url(server)
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            cursor = conn.execute(statement, tuple(_sqlite_param(p) for p in params))
            return list(cursor.fetchall())
    # Sync tests may run while the session's event loop exists: use a thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _pg(url, statement, params)).result(timeout=30)
