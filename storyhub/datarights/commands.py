"""``storyhub admin export USER``: an account's data export from a shell.

For an operator answering a request that arrived by other means (a letter, a
parent who lost access). ``USER`` is the account id or its email; the
document is the one ``GET /users/me/export`` returns, written to stdout or
``--output`` (created with owner-only permissions: it holds a birth date).
Audited as ``data.exported`` with ``by: "cli"``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import msgspec

from storyhub.lib.cli_support import run_with_database
from storyhub.settings import Settings


def run_export(args: argparse.Namespace) -> int:
    from storyhub.accounts.administration import find
    from storyhub.audit import service as audit
    from storyhub.datarights.export import export_account
    from storyhub.lib.crypto import FieldCipher
    from storyhub.piccolo_app import TABLES

    async def work(settings: Settings) -> int:
        user_id = (await find(args.user)).id
        document = await export_account(FieldCipher(settings.secret_key), user_id)
        data = msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"
        if args.output:
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        else:
            sys.stdout.buffer.write(data)
        await audit.record("data.exported", subject=f"user:{user_id}", data={"by": "cli"})
        return 0

    return run_with_database(TABLES, work)


def register_commands(sub: Any) -> None:
    """Add ``export`` to the ``storyhub admin`` parser."""
    parser = sub.add_parser("export", help="write everything storyhub holds about one account")
    parser.add_argument("user", help="the account's id or email")
    parser.add_argument("--output", "-o", help="write here (mode 600) instead of stdout")
    parser.set_defaults(func=run_export)
