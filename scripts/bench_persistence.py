"""CPU and wall time of the two writes every live-session message makes.

Each turn commits a segment with the turn state it leads to
(``persistence.commit_segment``) and each chat line inserts one row
(``persistence.insert_chat``). At 200 stories x 5 sockets that is 600 writes
a second, so their client-side CPU is a share of the server's budget that
``scripts/bench_ws.py`` cannot separate from the rest. This calls the real
functions, one after another on one connection, against a fresh database,
and prints one JSON document: CPU (this process's utime + stime) and wall
time per call, plus the database server's CPU when it is PostgreSQL.

    .venv/bin/python scripts/bench_persistence.py --mode services --count 3000
    .venv/bin/python scripts/bench_persistence.py --mode embedded --count 3000

Nothing here is imported by storyhub. Figures: docs/benchmarks.md,
"Per-message server work".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import (
    BENCH_SECRET,
    cpu_of,
    percentiles,
    pg_backend_pids,
    recreate_pg_database,
    seed,
    self_cpu_seconds,
)

from storyhub.lib import database
from storyhub.piccolo_app import TABLES
from storyhub.sessions import persistence


async def _timed(
    count: int, call: Callable[[int], Awaitable[Any]], database_url: str
) -> dict[str, Any]:
    postgres = not database_url.startswith("sqlite:///")
    backends = await pg_backend_pids(database_url) if postgres else []
    walls: list[int] = []
    pg_before = cpu_of(backends)
    cpu_before = self_cpu_seconds()
    for index in range(count):
        started = time.perf_counter_ns()
        await call(index)
        walls.append(time.perf_counter_ns() - started)
    cpu = self_cpu_seconds() - cpu_before
    pg_after = cpu_of(backends)
    result: dict[str, Any] = {
        "calls": count,
        "clientCpuMsPerCall": round(cpu / count * 1000, 4),
        "wallMs": percentiles(walls, (50, 99)),
    }
    if postgres:
        pg = sum(pg_after[p] - pg_before.get(p, pg_after[p]) for p in pg_after)
        result["postgresCpuMsPerCall"] = round(pg / count * 1000, 4)
    return result


async def _run(database_url: str, story_id: uuid.UUID, author: uuid.UUID, count: int) -> Any:
    engine = database.build_engine(database_url)
    database.install_engine(engine, TABLES)
    await database.open_pool(engine, max_size=1)
    try:
        # Warm the connection, the statement cache and the imports.
        await persistence.insert_chat(story_id, author, "warm", "warm-chat")
        await persistence.commit_segment(
            story_id,
            seq=1,
            author_id=author,
            content="warm",
            client_msg_id="warm-seg",
            turn_state={"turnIndex": 0},
        )

        async def chat(i: int) -> Any:
            return await persistence.insert_chat(story_id, author, f"chat line {i}", f"c{i}")

        async def segment(i: int) -> Any:
            return await persistence.commit_segment(
                story_id,
                seq=i + 2,
                author_id=author,
                content=f"A segment of the story, number {i}.",
                client_msg_id=f"s{i}",
                turn_state={"turnIndex": i, "holder": str(author)},
            )

        return {
            "insertChat": await _timed(count, chat, database_url),
            "commitSegment": await _timed(count, segment, database_url),
        }
    finally:
        await database.close_pool(engine)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--mode", choices=("embedded", "services"), default="services")
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--pg-database", default="storyhub_bench_persistence")
    args = p.parse_args(argv)
    os.environ.setdefault("STORYHUB_SECRET_KEY", BENCH_SECRET)
    with tempfile.TemporaryDirectory(prefix="bench-persistence-") as workdir:
        if args.mode == "services":
            url = recreate_pg_database(args.pg_admin_url, args.pg_database)
        else:
            url = f"sqlite:///{Path(workdir) / 'storyhub.sqlite3'}"

        async def migrate() -> None:
            engine = database.build_engine(url)
            database.install_engine(engine, TABLES)
            await database.migrate(engine, TABLES)

        asyncio.run(migrate())
        (story,) = seed(url, BENCH_SECRET, stories=1, users_per_story=1)
        results = asyncio.run(_run(url, story.id, story.users[0].id, args.count))
    print(json.dumps({"mode": args.mode, "loadAverage": os.getloadavg(), **results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
