"""WebSocket fan-out benchmark for live story sessions (issue 3, "Benchmark").

Drives a storyhub server from this separate process with S stories x C
clients, a turn rate and a chat rate (or a chat flood), and prints one JSON
document: deliveries/s, deliveries per server-CPU-second, submit->delivery
latency percentiles, server RSS per idle connection and per active actor,
errors and closes, and whether this load generator saturated its own core.

The server is started here (``storyhub serve`` pinned with ``taskset -c 1``,
fresh data: a temp SQLite dir in embedded mode, or a recreated PostgreSQL
database plus a private redis-server in services mode) or attached to with
``--url``. The generator pins itself to CPU 0 and uses picows (Cython) with
uvloop when importable, so that it is not what gets measured.

Examples (see docs/benchmarks.md for the recorded runs)::

    .venv/bin/python scripts/bench_ws.py --mode embedded --stories 200 --clients 5 \\
        --turn-rate 1 --chat-rate 2
    .venv/bin/python scripts/bench_ws.py --mode services --stories 1 --clients 1000 \\
        --turn-rate 0 --chat-flood 4

Latency: each turn/chat text carries ``~ts<CLOCK_MONOTONIC ns in consonant letters>#``; receivers
subtract it from their own monotonic clock (same host, same clock).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import (
    BENCH_SECRET,
    BenchStory,
    ServerUnderTest,
    code_identity,
    cpu_busy_share,
    cpu_jiffies,
    cpu_of,
    load_average,
    percentiles,
    pg_backend_pids,
    pin,
    raise_nofile,
    recreate_pg_database,
    seed,
    self_cpu_seconds,
    start_private_redis,
    start_server,
)

try:
    from picows import WSListener, WSMsgType, WSTransport, ws_connect
except ImportError:  # pragma: no cover - reported to the user
    sys.exit("bench_ws: picows is required: pip install -e '.[bench]'")

POINTS = (50, 95, 99, 99.9)
CHAT_PREFIX = b'{"type":"chatMessageReceived"'
STORY_PREFIX = b'{"type":"storyUpdated"'
TURN_PREFIX = b'{"type":"newTurn"'
ACK_PREFIX = b'{"type":"ack"'
ERROR_PREFIX = b'{"type":"error"'
TS_MARK = b"~ts"


# Consonants only: digit runs would be redacted by the safety filter in an
# allAges room (they look like phone numbers), and random letters with
# vowels now and then spell a word it blocks.
_ALPHABET = "bcdfghjkmnpqrtvwxz"
_INDEX = {ord(c): i for i, c in enumerate(_ALPHABET)}


def _letters(value: int) -> str:
    """The send time written in :data:`_ALPHABET`."""
    out = []
    while True:
        value, digit = divmod(value, len(_ALPHABET))
        out.append(_ALPHABET[digit])
        if value == 0:
            return "".join(reversed(out))


def _from_letters(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value = value * len(_ALPHABET) + _INDEX[byte]
    return value


monotonic_ns = time.monotonic_ns


class _Typed(msgspec.Struct):
    type: str
    userId: str | None = None  # the wire's camelCase names
    deadline: str | None = None
    clientMsgId: str | None = None
    code: str | None = None


_typed = msgspec.json.Decoder(_Typed)
BATCH_PREFIX = b'{"type":"batch"'


class _Batch(msgspec.Struct):
    events: list[msgspec.Raw]


_batch = msgspec.json.Decoder(_Batch)


@dataclass(eq=False)
class Room:
    """One story as the generator drives it."""

    story: BenchStory
    conns: list[Conn] = field(default_factory=list)
    turn_period: float = 0.0
    next_turn_at: float = 0.0
    holder: Conn | None = None
    holder_key: str | None = None
    scheduled_key: str | None = None
    next_chat_at: float = 0.0
    chat_rr: int = 0
    in_flight: int = 0


class Conn(WSListener):
    """One client socket; frames are handled in picows's callback, no task per frame."""

    def __init__(self, bench: Bench, room: Room, user_index: int, primary: bool) -> None:
        self.bench = bench
        self.room = room
        self.user = room.story.users[user_index]
        self.user_key = str(self.user.id)
        self.primary = primary
        """The user's first socket: the one that acts on ``newTurn`` for the user."""
        self.transport: WSTransport | None = None
        self.joined = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT:
            self.bench.on_text(self, frame.get_payload_as_bytes())
        elif kind == WSMsgType.CLOSE:
            self.bench.closes[int(frame.get_close_code())] += 1
            transport.disconnect()
        elif kind == WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.bench.disconnects += 1
        if not self.bench.closing and not self.joined.done():
            self.joined.set_exception(ConnectionError("disconnected before the join completed"))

    def send(self, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send(WSMsgType.TEXT, payload)


class Bench:
    """Counters and the load's driving logic (all on the generator's one event loop)."""

    def __init__(self, args: argparse.Namespace, stories: list[BenchStory]) -> None:
        self.args = args
        self.loop = asyncio.get_running_loop()
        self.rooms = [Room(story) for story in stories]
        self.running = False
        self.measuring = False
        self.closing = False
        self.frames: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.closes: collections.Counter[int] = collections.Counter()
        self.disconnects = 0
        self.turns_sent = 0
        self.chats_sent = 0
        self.acks = 0
        self.turn_latency: list[int] = []
        self.chat_latency: list[int] = []
        self.msg_counter = 0
        self.window_start_ns = 0
        self.by_second: collections.defaultdict[int, list[int]] = collections.defaultdict(list)
        """Latencies by second of the window: shows whether the tail is steady or spiky."""

    # --- receiving --------------------------------------------------------------------

    def _latency(self, payload: bytes, into: list[int]) -> None:
        if not self.measuring:
            return
        start = payload.find(TS_MARK)
        if start < 0:
            return
        end = payload.find(b"#", start)
        now = monotonic_ns()
        latency = now - _from_letters(payload[start + 3 : end])
        into.append(latency)
        self.by_second[(now - self.window_start_ns) // 1_000_000_000].append(latency)

    def on_text(self, conn: Conn, payload: bytes) -> None:
        frames = self.frames
        if payload.startswith(CHAT_PREFIX):
            frames["chatMessageReceived"] += 1
            self._latency(payload, self.chat_latency)
        elif payload.startswith(STORY_PREFIX):
            frames["storyUpdated"] += 1
            self._latency(payload, self.turn_latency)
        elif payload.startswith(ACK_PREFIX):
            frames["ack"] += 1
            self.on_ack(conn, _typed.decode(payload).clientMsgId or "")
        elif payload.startswith(TURN_PREFIX):
            frames["newTurn"] += 1
            self.on_new_turn(conn, _typed.decode(payload))
        elif payload.startswith(ERROR_PREFIX):
            frames["error"] += 1
            event = _typed.decode(payload)
            self.errors[event.code or "?"] += 1
            self.on_ack(conn, event.clientMsgId or "")
        elif payload.startswith(BATCH_PREFIX):
            # Coalesced events (joinStory {batch: true}): each counts as if sent alone.
            frames["batchFrame"] += 1
            for event in _batch.decode(payload).events:
                self.on_text(conn, bytes(event))
        else:
            frames[_typed.decode(payload).type] += 1

    def on_ack(self, conn: Conn, client_msg_id: str) -> None:
        self.acks += 1
        if client_msg_id == "join":
            if not conn.joined.done():
                conn.joined.set_result(None)
        elif client_msg_id.startswith("c") and self.args.chat_flood:
            room = conn.room
            room.in_flight -= 1
            if self.running:
                self.send_chat(room)

    def on_new_turn(self, conn: Conn, event: _Typed) -> None:
        if not conn.primary or event.userId != conn.user_key:
            return
        room = conn.room
        room.holder = conn
        room.holder_key = event.deadline
        if self.running:
            self.schedule_turn(room)

    # --- sending ----------------------------------------------------------------------

    def _text(self, word: str) -> str:
        self.msg_counter += 1
        return f"{word} {self.msg_counter} ~ts{_letters(monotonic_ns())}# " + self.args.padding

    def schedule_turn(self, room: Room) -> None:
        if room.turn_period <= 0 or room.holder is None or room.scheduled_key == room.holder_key:
            return
        room.scheduled_key = room.holder_key
        now = self.loop.time()
        at = max(now, room.next_turn_at)
        room.next_turn_at = at + room.turn_period
        self.loop.call_at(at, self.submit_turn, room, room.holder)

    def submit_turn(self, room: Room, conn: Conn) -> None:
        if not self.running or room.holder is not conn:
            return
        self.turns_sent += 1
        text = self._text("turn")
        conn.send(
            msgspec.json.encode(
                {"type": "submitTurn", "clientMsgId": f"t{self.msg_counter}", "text": text}
            )
        )

    def send_chat(self, room: Room) -> None:
        conns = room.conns
        conn = conns[room.chat_rr % len(conns)]
        room.chat_rr += 1
        self.chats_sent += 1
        room.in_flight += 1
        text = self._text("chat")
        conn.send(
            msgspec.json.encode(
                {"type": "sendChatMessage", "clientMsgId": f"c{self.msg_counter}", "text": text}
            )
        )

    async def chat_ticker(self) -> None:
        """Paced chat: each room sends ``chat_rate`` messages a second, phases spread."""
        rate = self.args.chat_rate
        if rate <= 0 or self.args.chat_flood:
            return
        period = 1.0 / rate
        now = self.loop.time()
        for room in self.rooms:
            room.next_chat_at = now + random.random() * period
        while self.running:
            now = self.loop.time()
            for room in self.rooms:
                while room.next_chat_at <= now:
                    self.send_chat(room)
                    room.next_chat_at += period
            await asyncio.sleep(0.005)

    def start_load(self) -> list[asyncio.Task[None]]:
        self.running = True
        now = self.loop.time()
        for room in self.rooms:
            if self.args.turn_rate > 0:
                room.turn_period = 1.0 / self.args.turn_rate
                room.next_turn_at = now + random.random() * room.turn_period
                self.schedule_turn(room)
            for _ in range(self.args.chat_flood):
                self.send_chat(room)
        return [asyncio.create_task(self.chat_ticker())]

    def snapshot(self) -> dict[str, Any]:
        return {
            "frames": collections.Counter(self.frames),
            "turns": self.turns_sent,
            "chats": self.chats_sent,
        }


# --- phases -----------------------------------------------------------------------------


async def connect_all(
    bench: Bench, url: str, clients: int, users_per_story: int, concurrency: int
) -> tuple[list[Conn], int]:
    """Open ``clients`` sockets per story (not joined); return them and the failures."""
    semaphore = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(room: Room, index: int) -> Conn | None:
        nonlocal failures
        user_index = index % users_per_story
        primary = index < users_per_story

        def factory() -> Conn:
            return Conn(bench, room, user_index, primary)

        token = room.story.users[user_index].token
        async with semaphore:
            try:
                _, listener = await ws_connect(
                    factory,
                    f"{url}/ws/stories/{room.story.id}",
                    extra_headers={"Authorization": f"Bearer {token}"},
                    websocket_handshake_timeout=30,
                    max_frame_size=1 << 24,
                )
            except Exception as exc:
                failures += 1
                bench.errors[f"connect:{type(exc).__name__}"] += 1
                return None
        assert isinstance(listener, Conn)
        return listener

    results = await asyncio.gather(*(one(room, i) for room in bench.rooms for i in range(clients)))
    conns = [c for c in results if c is not None]
    for conn in conns:
        conn.room.conns.append(conn)
    return conns, failures


async def join(conns: list[Conn], batch: int, limit_seconds: float, coalesce: bool = False) -> int:
    """Send ``joinStory`` in batches, each waiting for its acks; return failures.

    ``coalesce`` opts the sockets in to ``batch`` frames (server-side coalescing).
    """
    command: dict[str, Any] = {"type": "joinStory", "clientMsgId": "join"}
    if coalesce:
        command["batch"] = True
    join_frame = msgspec.json.encode(command)
    failures = 0
    for start in range(0, len(conns), batch):
        group = conns[start : start + batch]
        for conn in group:
            conn.send(join_frame)
        done = await asyncio.wait_for(
            asyncio.gather(*(c.joined for c in group), return_exceptions=True), limit_seconds
        )
        failures += sum(1 for r in done if isinstance(r, BaseException))
    return failures


async def settled_rss(server: ServerUnderTest, seconds: float) -> int | None:
    await asyncio.sleep(seconds)
    return server.rss_bytes()


def _per(delta: int | None, count: int) -> float | None:
    if delta is None or count <= 0:
        return None
    return round(delta / count / 1024, 2)


def _diff(after: int | None, before: int | None) -> int | None:
    return None if after is None or before is None else after - before


def start_profiler(
    server: ServerUnderTest, seconds: float, output: Path
) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(server.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarize_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        # py-spy frames look like "func (path/file.py:123)": group by function.
        names = [_function_name(f) for f in stack.split(";")]
        own[names[-1]] += count
        for name in set(names):
            inclusive[name] += count

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"samples": total, "selfPercent": share(own), "inclusivePercent": share(inclusive)}


def _function_name(frame: str) -> str:
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file_part = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/"):
        if marker in file_part:
            file_part = file_part.split(marker, 1)[1]
    return f"{name} ({file_part})"


async def run(
    args: argparse.Namespace, server: ServerUnderTest, stories: list[BenchStory], warm: BenchStory
) -> dict[str, Any]:
    bench = Bench(args, stories)
    url = server.ws_url
    users = args.users_per_story or args.clients

    # Warm the server's code paths (imports, caches, first actor) before any RSS baseline.
    warm_bench = Bench(args, [warm])
    warm_conns, _ = await connect_all(warm_bench, url, len(warm.users), len(warm.users), 16)
    await join(warm_conns, 64, 30)
    for _ in range(3):
        warm_bench.send_chat(warm_bench.rooms[0])
    await asyncio.sleep(0.5)
    for conn in warm_conns:
        if conn.transport is not None:
            conn.transport.send_close()
    await asyncio.sleep(1.0)

    rss0 = await settled_rss(server, 1.0)
    t = time.monotonic()
    conns, connect_failures = await connect_all(
        bench, url, args.clients, users, args.connect_concurrency
    )
    connect_seconds = time.monotonic() - t
    rss_idle = await settled_rss(server, 2.0)

    primaries = [c for c in conns if c.primary and c.room.conns and c is c.room.conns[0]]
    t = time.monotonic()
    join_failures = await join(primaries, args.join_batch, 60, args.batch_frames)
    rss_actors = await settled_rss(server, 2.0)
    first = set(primaries)
    rest = [c for c in conns if c not in first]
    join_failures += await join(rest, args.join_batch, 120, args.batch_frames)
    join_seconds = time.monotonic() - t
    rss_joined = await settled_rss(server, 1.0)

    # Load: warm-up, then the measured window.
    gc.collect()
    gc.disable()  # no generator GC pauses inside the window
    on_postgres = args.seeded_url.startswith("postgres")
    pg_pinned = 0
    if on_postgres and args.postgres_cpu is not None:
        pg_pinned = pin(await pg_backend_pids(args.seeded_url), args.postgres_cpu)
    tasks = bench.start_load()
    await asyncio.sleep(args.warmup)
    bench.window_start_ns = time.monotonic_ns()
    bench.measuring = True
    before = bench.snapshot()
    pg_pids = await pg_backend_pids(args.seeded_url) if on_postgres else []
    if args.postgres_cpu is not None:
        # Again: the pool may have opened connections during the warm-up.
        pg_pinned = max(pg_pinned, pin(pg_pids, args.postgres_cpu))
    pg0 = cpu_of(pg_pids)
    jiffies0 = cpu_jiffies()
    cpu0, self0, wall0 = server.cpu_seconds(), self_cpu_seconds(), time.monotonic()
    profiler = None
    if args.profile:
        profiler = start_profiler(server, args.duration, Path(args.profile))
    await asyncio.sleep(args.duration)
    cpu1, self1, wall1 = server.cpu_seconds(), self_cpu_seconds(), time.monotonic()
    jiffies1 = cpu_jiffies()
    pg1 = cpu_of(pg_pids)
    after = bench.snapshot()
    disconnects_in_run = bench.disconnects
    bench.measuring = False
    bench.running = False
    gc.enable()
    for task in tasks:
        task.cancel()
    await asyncio.sleep(1.0)  # let in-flight frames land (not counted)
    rss_end = server.rss_bytes()

    bench.closing = True
    for conn in conns:
        if conn.transport is not None and not conn.transport.is_disconnected:
            conn.transport.send_close()
    await asyncio.sleep(1.0)
    if profiler is not None:
        profiler.wait(30)

    wall = wall1 - wall0
    frames = after["frames"] - before["frames"]
    broadcast_types = {
        k: v for k, v in frames.items() if k not in ("ack", "error", "pong", "batchFrame")
    }
    deliveries = sum(broadcast_types.values())
    server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    client_cpu = self1 - self0
    lat_all = bench.turn_latency + bench.chat_latency

    def lat(values: list[int]) -> dict[str, Any]:
        out: dict[str, Any] = {"count": len(values), **percentiles(values, POINTS)}
        out["max"] = round(max(values) / 1e6, 3) if values else None
        return out

    result: dict[str, Any] = {
        "scenario": {
            "stories": args.stories,
            "clientsPerStory": args.clients,
            "usersPerStory": users,
            "turnRatePerStory": args.turn_rate,
            "chatRatePerStory": None if args.chat_flood else args.chat_rate,
            "chatFloodWindowPerStory": args.chat_flood or None,
            "batchFrames": args.batch_frames,
            "warmupSeconds": args.warmup,
            "durationSeconds": round(wall, 3),
            "textBytes": len(bench._text("x")),
        },
        "mode": "attached" if args.url else args.mode,
        "code": code_identity(),
        "startedAt": args.started_at,
        "host": {
            "loadAverageBefore": args.load_before,
            "cpus": os.cpu_count(),
            "serverPinnedCpu": server.pinned_cpu,
            "clientPinnedCpu": args.client_cpu if args.pinned_self else None,
            "serverUsesUvloop": server.uses_uvloop(),
            "cpuBusyDuringWindow": cpu_busy_share(jiffies0, jiffies1),
            "clientLoop": type(asyncio.get_running_loop()).__module__.split(".")[0],
            "client": "picows",
        },
        "connections": {
            "opened": len(conns),
            "connectFailures": connect_failures,
            "joinFailures": join_failures,
            "connectSeconds": round(connect_seconds, 2),
            "joinSeconds": round(join_seconds, 2),
        },
        "deliveries": {
            "total": deliveries,
            "perSecond": round(deliveries / wall, 1),
            "perServerCpuSecond": round(deliveries / server_cpu, 1) if server_cpu else None,
            "byType": dict(broadcast_types),
        },
        "commands": {
            "turnsSent": after["turns"] - before["turns"],
            "chatsSent": after["chats"] - before["chats"],
            "turnsPerSecond": round((after["turns"] - before["turns"]) / wall, 1),
            "chatsPerSecond": round((after["chats"] - before["chats"]) / wall, 1),
            "acksInWindow": frames.get("ack", 0),
            "batchFramesInWindow": frames.get("batchFrame", 0),
        },
        "latencyMs": {
            "all": lat(lat_all),
            "turn": lat(bench.turn_latency),
            "chat": lat(bench.chat_latency),
        },
        "latencyBySecond": [
            [second, len(values), *percentiles(values, (50, 99)).values()]
            for second, values in sorted(bench.by_second.items())
        ],
        "server": {
            "cpuSeconds": None if server_cpu is None else round(server_cpu, 3),
            "cpuUtilisation": None if server_cpu is None else round(server_cpu / wall, 3),
            "postgresBackendCpuSeconds": round(sum(pg1[p] - pg0.get(p, pg1[p]) for p in pg1), 3)
            if pg_pids
            else None,
            "postgresBackends": len(pg_pids) if on_postgres else None,
            "postgresPinnedCpu": args.postgres_cpu if pg_pinned else None,
            "rssBeforeMiB": None if rss0 is None else round(rss0 / 2**20, 1),
            "rssEndMiB": None if rss_end is None else round(rss_end / 2**20, 1),
            "rssPerIdleConnectionKiB": _per(_diff(rss_idle, rss0), len(conns)),
            "rssPerActorKiB": _per(_diff(rss_actors, rss_idle), len(primaries)),
            "rssPerActorNote": "actor activated by one joined socket (includes that join)",
            "rssPerJoinedConnectionKiB": _per(_diff(rss_joined, rss_actors), len(rest)),
        },
        "client": {
            "cpuSeconds": round(client_cpu, 3),
            "cpuUtilisation": round(client_cpu / wall, 3),
            "clientCpuSaturated": client_cpu / wall > 0.9,
        },
        "errors": dict(bench.errors),
        "closes": {str(k): v for k, v in bench.closes.items()},
        "disconnectsBeforeShutdown": disconnects_in_run,
    }
    if args.profile:
        result["profile"] = {"raw": args.profile, **summarize_profile(Path(args.profile))}
    return result


# --- set-up -----------------------------------------------------------------------------


def prepare_server(args: argparse.Namespace, workdir: Path) -> tuple[ServerUnderTest, str, str]:
    """Start (or attach to) the server; return it, its database URL and its secret key."""
    if args.url:
        if not args.database_url or not args.secret_key:
            sys.exit("bench_ws: --url needs --database-url and --secret-key to seed data")
        server = ServerUnderTest(base_url=args.url.rstrip("/"), pid=args.server_pid, env={})
        return server, args.database_url, args.secret_key
    data_dir = workdir / "data"
    env = {
        "STORYHUB_DATA_DIR": str(data_dir),
        "STORYHUB_SECRET_KEY": BENCH_SECRET,
        "STORYHUB_PASSWORD_PROFILE": "test",
        "STORYHUB_LOG_LEVEL": args.log_level,
        "STORYHUB_SESSION_IDLE_SECONDS": "600",
    }
    extra = []
    if args.mode == "services":
        env["STORYHUB_DATABASE_URL"] = args.database_url or recreate_pg_database(
            args.pg_admin_url, args.pg_database
        )
        if args.valkey_url:
            env["STORYHUB_VALKEY_URL"] = args.valkey_url
        else:
            redis_url, redis = start_private_redis(args.server_cpu)
            env["STORYHUB_VALKEY_URL"] = redis_url
            extra.append(redis)
    try:
        server = start_server(
            env,
            workdir / "server.log",
            cpu=args.server_cpu,
            extra_pythonpath=args.server_pythonpath,
        )
    except Exception:
        for proc in extra:
            proc.terminate()
        raise
    server.extra = extra
    database_url = env.get("STORYHUB_DATABASE_URL") or f"sqlite:///{data_dir / 'storyhub.sqlite3'}"
    return server, database_url, BENCH_SECRET


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--mode", choices=("embedded", "services"), default="embedded")
    p.add_argument("--stories", type=int, default=200)
    p.add_argument("--clients", type=int, default=5, help="sockets per story")
    p.add_argument(
        "--users-per-story",
        type=int,
        default=0,
        help="distinct users per story (default: one per socket); sockets share them",
    )
    p.add_argument("--turn-rate", type=float, default=1.0, help="turns/s/story")
    p.add_argument("--chat-rate", type=float, default=2.0, help="chat messages/s/story")
    p.add_argument(
        "--chat-flood",
        type=int,
        default=0,
        help="instead of --chat-rate: keep this many chats in flight per story",
    )
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    p.add_argument(
        "--batch-frames",
        action="store_true",
        help="join with batch: true (the server may coalesce events for a socket behind)",
    )
    p.add_argument("--padding", default="x" * 40, help="appended to every text (frame size)")
    p.add_argument("--connect-concurrency", type=int, default=64)
    p.add_argument("--join-batch", type=int, default=200)
    p.add_argument("--server-cpu", type=int, default=1)
    p.add_argument("--client-cpu", type=int, default=0)
    p.add_argument("--no-pin", action="store_true", help="pin neither process")
    p.add_argument(
        "--postgres-cpu",
        type=int,
        default=None,
        help="services: pin the PostgreSQL backends serving the bench database to this CPU"
        " (e.g. the generator's, so that only the server runs on --server-cpu)",
    )
    p.add_argument("--log-level", default="INFO")
    p.add_argument(
        "--server-pythonpath",
        default=None,
        help="prepended to the server's PYTHONPATH (e.g. a dir holding uvloop)",
    )
    p.add_argument("--url", help="attach to this running server instead of starting one")
    p.add_argument("--server-pid", type=int, help="with --url: read CPU and RSS of this pid")
    p.add_argument("--database-url", help="with --url: where to seed; services: use this DB")
    p.add_argument("--secret-key", help="with --url: the server's STORYHUB_SECRET_KEY")
    p.add_argument("--valkey-url", help="services mode: use this instead of a private redis")
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--pg-database", default="storyhub_bench")
    p.add_argument("--profile", help="py-spy raw output path: profile the measured window")
    p.add_argument("--json-out", help="also write the JSON result here")
    p.add_argument("--keep-dir", action="store_true", help="keep the temp dir (server log)")
    args = p.parse_args(argv)
    if args.no_pin:
        args.server_cpu = None
    if args.clients < 1 or args.stories < 1:
        p.error("--stories and --clients must be at least 1")
    if args.users_per_story and args.users_per_story > args.clients:
        p.error("--users-per-story cannot exceed --clients")
    return args


def _install_loop() -> Callable[..., Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_before = [round(x, 2) for x in load_average()]
    args.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    raise_nofile()
    args.pinned_self = False
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_cpu})
        args.pinned_self = True
    workdir = Path(tempfile.mkdtemp(prefix="storyhub-bench-"))
    server, database_url, secret = prepare_server(args, workdir)
    args.seeded_url = database_url
    try:
        users = args.users_per_story or args.clients
        stories = seed(database_url, secret, args.stories, users)
        (warm,) = seed(database_url, secret, 1, 8)
        result = _install_loop()(run(args, server, stories, warm))
    finally:
        server.stop()
        if not args.keep_dir and not args.url:
            shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
