"""``storyhub admin retention run [--dry-run]``: one retention pass from a shell.

Prints one JSON object per line: every queued account deletion carried out
and every scheduled purge, with counts (in a dry run: what would go).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from storyhub.lib.cli_support import run_with_database
from storyhub.settings import Settings


def run_retention(args: argparse.Namespace) -> int:
    from storyhub.lib.blobs import build_blob_store
    from storyhub.lib.crypto import FieldCipher
    from storyhub.piccolo_app import TABLES
    from storyhub.retention import service

    async def work(settings: Settings) -> int:
        blobs = build_blob_store(settings.s3, settings.data_dir)
        try:
            report = await service.run_exclusive(
                settings.retention,
                cipher=FieldCipher(settings.secret_key),
                blobs=blobs,
                dry_run=args.dry_run,
            )
        finally:
            await blobs.aclose()
        if report is None:
            raise service.RetentionBusy(
                "Another storyhub process is running a retention pass; try again shortly."
            )
        for outcome in report:
            sys.stdout.write(msgspec.json.encode(outcome).decode() + "\n")
        return 0

    return run_with_database(TABLES, work)


def register_commands(sub: Any) -> None:
    """Add ``retention`` to the ``storyhub admin`` parser."""
    parser = sub.add_parser(
        "retention", help="delete accounts queued for deletion and purge data past its retention"
    )
    actions = parser.add_subparsers(dest="retention_command", required=True)
    run = actions.add_parser("run", help="run one retention pass now")
    run.add_argument(
        "--dry-run", action="store_true", help="report what would be deleted; change nothing"
    )
    run.set_defaults(func=run_retention)
