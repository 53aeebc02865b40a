"""``storyhub admin users ...``: find, list, change role, deactivate and reactivate accounts.

Each command prints one JSON object per account. In services mode a
deactivation also closes the account's open WebSockets on every API node
(through the same Valkey channel the API uses); in embedded mode the server
is another process this command cannot reach: its sockets stay until they
reconnect, which their dead tokens then refuse.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from storyhub.lib.cli_support import run_with_database
from storyhub.settings import Settings

ROLES = ("user", "moderator", "admin")
STATUSES = ("active", "pendingConsent", "deactivated")


def _print(rows: Any) -> None:
    for row in rows if isinstance(rows, list) else [rows]:
        sys.stdout.write(msgspec.json.encode(row).decode() + "\n")


def _run(args: argparse.Namespace) -> int:
    from storyhub.accounts import administration as admin
    from storyhub.piccolo_app import TABLES

    async def work(settings: Settings) -> int:
        action = args.users_command
        if action == "list":
            _print(
                await admin.list_accounts(
                    email_contains=args.email, role=args.role, status=args.status, limit=args.limit
                )
            )
        elif action == "show":
            _print(await admin.find(args.user))
        elif action == "set-role":
            _print(await admin.set_role(args.user, args.role))
        elif action == "deactivate":
            account = await admin.deactivate(args.user, args.reason)
            await _close_sockets(settings, account.id)
            _print(account)
        else:
            _print(await admin.reactivate(args.user))
        return 0

    return run_with_database(TABLES, work)


async def _close_sockets(settings: Settings, user_id: Any) -> None:
    if settings.valkey_url is None:
        print(
            "storyhub: embedded mode: a running server keeps this account's open sockets"
            " until they reconnect (its tokens no longer work)",
            file=sys.stderr,
        )
        return
    from storyhub.lib.kv import open_valkey
    from storyhub.sessions.inbox import ValkeyNotifier

    client = open_valkey(settings.valkey_url)
    try:
        await ValkeyNotifier(client).revoke_user(user_id)
    finally:
        await client.aclose()


def register_commands(sub: Any) -> None:
    """Add ``users`` to the ``storyhub admin`` parser."""
    parser = sub.add_parser("users", help="find, list, change role, deactivate or reactivate")
    actions = parser.add_subparsers(dest="users_command", required=True)
    listing = actions.add_parser("list", help="accounts, newest first")
    listing.add_argument("--email", help="part of the email address")
    listing.add_argument("--role", choices=ROLES)
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--limit", type=int, default=100)
    show = actions.add_parser("show", help="one account")
    show.add_argument("user", help="id or email")
    role = actions.add_parser("set-role", help="make an account a user, moderator or admin")
    role.add_argument("user", help="id or email")
    role.add_argument("role", choices=ROLES)
    off = actions.add_parser("deactivate", help="sign an account out everywhere and keep it out")
    off.add_argument("user", help="id or email")
    off.add_argument("--reason", required=True, help="kept in the audit log")
    on = actions.add_parser("reactivate", help="undo a deactivation by an operator")
    on.add_argument("user", help="id or email")
    for each in (listing, show, role, off, on):
        each.set_defaults(func=_run)
