"""``storyhub admin create-user``: make an account (typically the first admin)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import date
from typing import Any

from storyhub.accounts.principal import Role
from storyhub.accounts.schemas import RegisteredUser, RegisterRequest
from storyhub.lib.cli_support import open_database, settings_or_exit
from storyhub.lib.errors import StoryhubError
from storyhub.settings import Settings

ROLES: tuple[Role, ...] = ("user", "moderator", "admin")


async def create_user(
    settings: Settings,
    *,
    email: str,
    display_name: str,
    birth_date: date,
    password: str,
    role: Role = "user",
    country: str | None = None,
) -> RegisteredUser:
    """Open the database named by ``settings``, migrate it, and create one account.

    The account goes through the same rules as ``POST /auth/register``
    (email, password length, age tier, encrypted birth date); moderators and
    admins must be adults.
    """
    from storyhub.accounts.service import AccountService
    from storyhub.accounts.tokens import TokenService
    from storyhub.lib.crypto import FieldCipher
    from storyhub.piccolo_app import TABLES

    async with open_database(settings, TABLES):
        tokens = TokenService(
            settings.secret_key,
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl_seconds=settings.access_token_ttl,
        )
        service = AccountService(settings, FieldCipher(settings.secret_key), tokens, ip="cli")
        request = RegisterRequest(
            email=email,
            password=password,
            display_name=display_name,
            birth_date=birth_date,
            country=country,
        )
        return await service.register(request, role=role)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("storyhub: the passwords do not match.")
    return first


def _birth_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date like 1990-04-30") from None


def run_create_user(args: argparse.Namespace) -> int:
    """The ``create-user`` entry point: prints the new account's id."""
    settings = settings_or_exit()
    password = _read_password(args.password_stdin)
    try:
        user = asyncio.run(
            create_user(
                settings,
                email=args.email,
                display_name=args.display_name,
                birth_date=args.birth_date,
                password=password,
                role=args.role,
                country=args.country,
            )
        )
    except StoryhubError as exc:
        print(f"storyhub: {exc.message} ({exc.code})", file=sys.stderr)
        return 1
    print(f"created {user.email} ({args.role}, {user.status}) with id {user.id}")
    return 0


def register_commands(sub: Any) -> None:
    """Add ``create-user`` to the ``storyhub admin`` parser."""
    parser = sub.add_parser("create-user", help="create an account, e.g. the first admin")
    parser.add_argument("--email", required=True)
    parser.add_argument("--display-name", required=True)
    parser.add_argument("--birth-date", required=True, type=_birth_date, help="YYYY-MM-DD")
    parser.add_argument("--role", choices=ROLES, default="user")
    parser.add_argument("--country", default=None, help="ISO 3166-1 alpha-2, e.g. DE")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    parser.set_defaults(func=run_create_user)
