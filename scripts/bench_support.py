"""Plumbing for ``scripts/bench_ws.py``: the server under test, its data, its numbers.

Kept apart from the load generator so that the generator's module reads as
the benchmark itself. Nothing here is imported by storyhub.

* :class:`ServerUnderTest` starts ``storyhub serve`` (pinned with ``taskset``)
  or attaches to a running one, and reads its CPU time and RSS from ``/proc``.
* :func:`seed` writes users, stories and collaborators straight into the
  server's database (SQLite file or PostgreSQL), the way the e2e tests do.
* :func:`start_private_redis` and :func:`recreate_pg_database` prepare
  services mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storyhub.accounts.tokens import TokenService

REPO = Path(__file__).resolve().parent.parent
BENCH_SECRET = "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
NOFILE_WANTED = 8192


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_nofile(wanted: int = NOFILE_WANTED) -> int:
    """Raise this process's open-file limit (children inherit it); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


# --- /proc readings -------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (not its children), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        raw = handle.read()
    # The command name may hold spaces; the fields we need follow its ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * PAGE_SIZE


def proc_uses(pid: int, needle: str) -> bool:
    """Whether a shared object whose path contains ``needle`` is mapped (e.g. uvloop)."""
    try:
        with open(f"/proc/{pid}/maps") as handle:
            return any(needle in line for line in handle)
    except OSError:
        return False


def cpu_jiffies() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per CPU from /proc/stat ("cpu0", "cpu1", ...)."""
    out: dict[str, tuple[int, int]] = {}
    with open("/proc/stat") as handle:
        for line in handle:
            name, *values = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            numbers = [int(v) for v in values[:8]]
            idle = numbers[3] + numbers[4]  # idle + iowait
            out[name] = (sum(numbers) - idle, sum(numbers))
    return out


def cpu_busy_share(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, float]:
    """How busy each CPU was between two :func:`cpu_jiffies` readings (0..1)."""
    shares = {}
    for name, (busy1, total1) in after.items():
        busy0, total0 = before.get(name, (0, 0))
        shares[name] = round((busy1 - busy0) / max(1, total1 - total0), 3)
    return shares


async def pg_backend_pids(database_url: str) -> list[int]:
    """Backends connected to the database of ``database_url`` (not this query's own)."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


def pin(pids: Sequence[int], cpu: int) -> int:
    """Pin each of ``pids`` to ``cpu`` (as root or their owner); return how many were pinned."""
    pinned = 0
    for pid in pids:
        try:
            os.sched_setaffinity(pid, {cpu})
        except OSError:
            continue
        pinned += 1
    return pinned


def cpu_of(pids: Sequence[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = proc_cpu_seconds(pid)
        except OSError:
            continue
    return out


def code_identity() -> dict[str, str | None]:
    """The commit plus a digest of the live-session sources (the tree may be uncommitted)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO / "storyhub" / "sessions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    try:
        head = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            ).stdout.strip()
            or None
        )
    except OSError:
        head = None
    return {"gitHead": head, "sessionsSha256": digest.hexdigest()[:16]}


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the server -----------------------------------------------------------------------


@dataclass
class ServerUnderTest:
    """A storyhub server: started here (and stopped at the end) or attached to by URL."""

    base_url: str
    pid: int | None
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    pinned_cpu: int | None = None
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)

    def cpu_seconds(self) -> float | None:
        return None if self.pid is None else proc_cpu_seconds(self.pid)

    def rss_bytes(self) -> int | None:
        return None if self.pid is None else proc_rss_bytes(self.pid)

    def uses_uvloop(self) -> bool | None:
        return None if self.pid is None else proc_uses(self.pid, "uvloop")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for proc in self.extra:
            if proc.poll() is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)

    def tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_ready(base_url: str, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            with urllib.request.urlopen(base_url + "/health/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {base_url} not ready in {timeout}s")


def start_server(
    env_overrides: dict[str, str],
    log_path: Path,
    *,
    cpu: int | None,
    extra_pythonpath: str | None = None,
) -> ServerUnderTest:
    """Start ``storyhub serve`` on a free port, pinned to ``cpu`` with taskset when given."""
    port = free_port()
    env = {**os.environ, **env_overrides}
    env.pop("PICCOLO_CONF", None)
    if extra_pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (extra_pythonpath, env.get("PYTHONPATH")) if p
        )
    else:
        env.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "storyhub.cli", "serve", "--port", str(port)]
    pinned = None
    if cpu is not None:
        taskset = shutil.which("taskset")
        if taskset is None:
            print("bench: taskset not found; the server is NOT pinned", file=sys.stderr)
        else:
            command = [taskset, "-c", str(cpu), *command]
            pinned = cpu
    log = log_path.open("ab")
    # taskset execs the server, so the pid we get is the server's own.
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    server = ServerUnderTest(
        base_url=f"http://127.0.0.1:{port}",
        pid=process.pid,
        env=env,
        process=process,
        log_path=log_path,
        pinned_cpu=pinned,
    )
    try:
        wait_ready(server.base_url, 60, process)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}; log tail:\n{server.tail()}") from None
    return server


def start_private_redis(cpu: int | None) -> tuple[str, subprocess.Popen[bytes]]:
    """A throw-away redis-server with no persistence; returns (url, process)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("private redis-server did not start") from None
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", process


async def _recreate_pg(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def recreate_pg_database(admin_url: str, name: str) -> str:
    """Drop and create ``name`` on the server of ``admin_url``; return the new URL."""
    asyncio.run(_recreate_pg(admin_url, name))
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


# --- seeding --------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchUser:
    id: uuid.UUID
    token: str


@dataclass(frozen=True)
class BenchStory:
    id: uuid.UUID
    users: tuple[BenchUser, ...]
    """Authors of the story; ``users[0]`` owns it."""


STORY_SETTINGS = {"turnSeconds": 3600, "voteSeconds": 3600, "maxSegmentLength": 4000}
"""Long deadlines: no turn is skipped by the clock during a run."""


def _rows(
    stories: int, users_per_story: int
) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, list[uuid.UUID]]]]:
    user_ids: list[uuid.UUID] = []
    plan: list[tuple[uuid.UUID, list[uuid.UUID]]] = []
    for _ in range(stories):
        members = [uuid.uuid4() for _ in range(users_per_story)]
        user_ids.extend(members)
        plan.append((uuid.uuid4(), members))
    return user_ids, plan


USER_SQL = (
    "INSERT INTO users (id, email, password_hash, display_name, birth_date_enc, age_tier,"
    " status, role, preferences, auth_epoch, created_at, updated_at)"
    " VALUES (?, ?, NULL, ?, 'bench-not-sealed', 'adult', 'active', 'user', '{}', 0, ?, ?)"
)
STORY_SQL = (
    "INSERT INTO stories (id, title, premise, creator, age_rating, status, visibility,"
    " settings, turn_state, created_at, updated_at)"
    " VALUES (?, ?, 'A benchmark.', ?, 'allAges', 'active', 'private', ?, '{}', ?, ?)"
)
COLLABORATOR_SQL = 'INSERT INTO collaborators (story, "user", role, joined_at) VALUES (?, ?, ?, ?)'


def _dollar(statement: str) -> str:
    parts = statement.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


def _statements(
    user_ids: Sequence[uuid.UUID], plan: Sequence[tuple[uuid.UUID, list[uuid.UUID]]]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    now = datetime.now(UTC)
    settings = json.dumps(STORY_SETTINGS)
    users = [(u, f"bench-{u.hex}@example.test", f"B{u.hex[:6]}", now, now) for u in user_ids]
    stories = [(s, "Bench story", members[0], settings, now, now) for s, members in plan]
    collaborators = [(s, u, "author", now) for s, members in plan for u in members]
    return [(USER_SQL, users), (STORY_SQL, stories), (COLLABORATOR_SQL, collaborators)]


def _seed_sqlite(path: str, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    def cell(value: Any) -> Any:
        # Piccolo keeps UUIDs and timestamps as text on SQLite (str() formats match).
        return str(value) if isinstance(value, uuid.UUID | datetime) else value

    with sqlite3.connect(path, timeout=30) as conn:
        for sql, rows in statements:
            conn.executemany(sql, [tuple(cell(v) for v in row) for row in rows])


async def _seed_pg(url: str, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for sql, rows in statements:
                await conn.executemany(_dollar(sql), rows)
    finally:
        await conn.close()


def seed(
    database_url: str, secret_key: str, stories: int, users_per_story: int
) -> list[BenchStory]:
    """Insert ``stories`` stories, each with ``users_per_story`` author users; issue tokens."""
    user_ids, plan = _rows(stories, users_per_story)
    statements = _statements(user_ids, plan)
    if database_url.startswith("sqlite:///"):
        _seed_sqlite(database_url.removeprefix("sqlite:///"), statements)
    else:
        asyncio.run(_seed_pg(database_url, statements))
    tokens = TokenService(secret_key, issuer="storyhub", audience="storyhub-api", ttl_seconds=900)
    return [
        BenchStory(
            id=story_id,
            users=tuple(BenchUser(id=u, token=tokens.issue(u, epoch=0)) for u in members),
        )
        for story_id, members in plan
    ]


# --- statistics -----------------------------------------------------------------------


def percentiles(values_ns: list[int], points: Sequence[float]) -> dict[str, float | None]:
    """Nearest-rank percentiles in milliseconds."""
    if not values_ns:
        return {f"p{p:g}": None for p in points}
    ordered = sorted(values_ns)
    last = len(ordered) - 1
    return {
        f"p{p:g}": round(ordered[min(last, max(0, round(p / 100 * len(ordered)) - 1))] / 1e6, 3)
        for p in points
    }
