"""The ``storyhub`` command: serve, worker, migrate, admin."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence

# Piccolo looks its configuration up by module name; point it at ours before
# anything imports Piccolo's finder.
os.environ.setdefault("PICCOLO_CONF", "storyhub.piccolo_conf")

from storyhub.lib.cli_support import settings_or_exit

WORKER_TASK_MODULES: list[str] = [
    "storyhub.media.tasks",
    "storyhub.books.tasks",
    "storyhub.jobs.tasks",
]
"""Modules that define TaskIQ tasks; the worker imports them."""


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP/WebSocket API under uvicorn."""
    import uvicorn

    from storyhub.app import create_app
    from storyhub.lib.malloc import fix_mmap_threshold
    from storyhub.sessions.uvicorn_protocol import LeanWSProtocol
    from storyhub.sessions.wire import direct_writes

    settings = settings_or_exit()
    fix_mmap_threshold()  # before any thread or socket: idle memory per connection
    app = create_app(settings)
    uvicorn.run(
        direct_writes(app),
        host=args.host,
        port=args.port,
        # wsproto: lighter per idle socket than websockets (and lighter still with
        # LeanWSProtocol's containers). permessage-deflate off: it costs ~34 KB per
        # connection (browsers ask for it), and room frames are written pre-built
        # to every socket (sessions.wire).
        ws=LeanWSProtocol,
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
        log_config=None,
        access_log=False,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        timeout_graceful_shutdown=5,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run TaskIQ worker processes for background jobs."""
    settings_or_exit()
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    worker_args = WorkerArgs(
        broker="storyhub.lib.broker:broker",
        modules=list(WORKER_TASK_MODULES),
        workers=args.workers,
        max_async_tasks=args.max_async_tasks,
    )
    result = run_worker(worker_args)
    return int(result or 0)


def cmd_migrate(_: argparse.Namespace) -> int:
    """Apply pending database migrations."""
    from storyhub.lib import database
    from storyhub.piccolo_app import TABLES

    settings = settings_or_exit()

    async def run() -> None:
        engine = database.build_engine(settings.database_url)
        await database.migrate(engine, TABLES)

    asyncio.run(run())
    print("storyhub: migrations applied.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storyhub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (embedded default with no settings)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run background workers")
    worker.add_argument("--workers", type=int, default=1)
    worker.add_argument("--max-async-tasks", type=int, default=20)
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("admin", help="administration commands")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    from storyhub.admin import register_admin_commands

    register_admin_commands(admin_sub)
    from storyhub.safety.cli import register as register_safety_commands

    register_safety_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
