"""``storyhub admin verifications list|approve ID|reject ID``: review age verification."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from storyhub.lib.errors import StoryhubError
from storyhub.settings import Settings, SettingsError, load_settings

T = TypeVar("T")


async def _with_database(settings: Settings, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    from storyhub.lib import database
    from storyhub.lib.blobs import build_blob_store
    from storyhub.lib.crypto import FieldCipher
    from storyhub.piccolo_app import TABLES

    engine = database.build_engine(settings.database_url)
    await database.migrate(engine, TABLES)
    await database.open_pool(engine, max_size=2)
    blobs = build_blob_store(settings.s3, settings.data_dir)
    try:
        return await work(blobs, FieldCipher(settings.secret_key))
    finally:
        await blobs.aclose()
        await database.close_pool(engine)


def _list(settings: Settings, status: str | None) -> int:
    from storyhub.accounts import verification

    async def work(_: Any, __: Any) -> list[verification.VerificationOut]:
        return await verification.for_review(status, limit=500)

    requests = asyncio.run(_with_database(settings, work))
    if not requests:
        print("no verification requests" + (f" in status {status}" if status else ""))
    for item in requests:
        document = "  document" if item.has_document else ""
        print(
            f"{item.id}  {item.status:16}  {item.method:16}  user {item.user_id}  "
            f"{item.created_at:%Y-%m-%d %H:%M}{document}"
        )
    return 0


def _decide(settings: Settings, request_id: UUID, decision: str, note: str | None) -> int:
    from storyhub.accounts import verification

    async def work(blobs: Any, cipher: Any) -> verification.VerificationOut:
        return await verification.decide(
            request_id,
            "approve" if decision == "approve" else "reject",
            note,
            reviewer_id=None,
            by="cli",
            blobs=blobs,
            cipher=cipher,
            ip="cli",
        )

    decided = asyncio.run(_with_database(settings, work))
    print(f"{decided.id} is now {decided.status}; its document was deleted.")
    return 0


def run_verifications(args: argparse.Namespace) -> int:
    """The ``verifications`` entry point."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"storyhub: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "list":
            return _list(settings, None if args.status == "all" else args.status)
        return _decide(settings, args.id, args.action, args.note)
    except StoryhubError as exc:
        print(f"storyhub: {exc.message} ({exc.code})", file=sys.stderr)
        return 1


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a request id") from None


def register_commands(sub: Any) -> None:
    """Add ``verifications`` to the ``storyhub admin`` parser."""
    parser = sub.add_parser("verifications", help="review age-verification requests")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="requests waiting for review (or --status)")
    listing.add_argument(
        "--status",
        default="inReview",
        choices=[
            "inReview",
            "awaitingDocument",
            "pending",
            "approved",
            "rejected",
            "recorded",
            "all",
        ],
    )
    for action in ("approve", "reject"):
        decide = actions.add_parser(action, help=f"{action} a request; its document is deleted")
        decide.add_argument("id", type=_uuid)
        decide.add_argument("--note", default=None)
    parser.set_defaults(func=run_verifications)
