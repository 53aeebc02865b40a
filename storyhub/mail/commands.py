"""``storyhub admin mail``: the mail embedded mode wrote to its folder, or the outbox."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from storyhub.lib.cli_support import run_with_database, settings_or_exit
from storyhub.mail.senders import find_in_folder, list_folder, mail_folder
from storyhub.settings import Settings


def _print_folder(settings: Settings, limit: int) -> int:
    folder = mail_folder(settings)
    mails = list_folder(folder)[:limit]
    if settings.smtp is not None:
        print(
            f"mail is sent through smtp://{settings.smtp.host}:{settings.smtp.port}; "
            f"use --outbox to see what is queued."
        )
    if not mails:
        print(f"no mail in {folder}")
        return 0
    for mail in mails:
        at = mail.written_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{mail.id}  {at}Z  to {mail.recipient}  {mail.subject}")
    return 0


def _show(settings: Settings, mail_id: str) -> int:
    mail = find_in_folder(mail_folder(settings), mail_id)
    if mail is None:
        print(f"storyhub: no single mail with id {mail_id!r}", file=sys.stderr)
        return 1
    sys.stdout.write(mail.path.read_text(errors="replace"))
    return 0


async def _print_outbox(limit: int) -> int:
    from storyhub.mail import outbox
    from storyhub.mail.message import MAX_ATTEMPTS

    for row in await outbox.recent(limit):
        if row["sent"]:
            state = "sent"
        elif row["attempts"] >= MAX_ATTEMPTS:
            state = "failed"
        else:
            state = "queued"
        error = (
            f"  last error: {row['last_error']}" if row["last_error"] and not row["sent"] else ""
        )
        print(f"{row['id']}  {state:6}  attempts {row['attempts']}  {row['subject']}{error}")
    return 0


def run_mail(args: argparse.Namespace) -> int:
    """List mail newest first, or print one with ``--show ID``."""
    if args.outbox:
        from storyhub.piccolo_app import TABLES

        async def work(_: Settings) -> int:
            return await _print_outbox(args.limit)

        return run_with_database(TABLES, work)
    settings = settings_or_exit()
    if args.show:
        return _show(settings, args.show)
    return _print_folder(settings, args.limit)


def register_commands(sub: Any) -> None:
    """Add ``mail`` to the ``storyhub admin`` parser."""
    parser = sub.add_parser(
        "mail", help="list mail written to the data dir's mail folder (embedded mode)"
    )
    parser.add_argument("--show", metavar="ID", help="print one mail (id or unique prefix)")
    parser.add_argument(
        "--outbox", action="store_true", help="list the outbox in the database instead"
    )
    parser.add_argument("--limit", type=int, default=50)
    parser.set_defaults(func=run_mail)
