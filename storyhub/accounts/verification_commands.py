"""``storyhub admin verifications list|approve ID|reject ID``: review age verification."""

from __future__ import annotations

import argparse
from typing import Any
from uuid import UUID

from storyhub.lib.cli_support import run_with_database
from storyhub.settings import Settings


async def _list(status: str | None) -> int:
    from storyhub.accounts import verification

    requests = await verification.for_review(status, limit=500)
    if not requests:
        print("no verification requests" + (f" in status {status}" if status else ""))
    for item in requests:
        document = "  document" if item.has_document else ""
        print(
            f"{item.id}  {item.status:16}  {item.method:16}  user {item.user_id}  "
            f"{item.created_at:%Y-%m-%d %H:%M}{document}"
        )
    return 0


async def _decide(settings: Settings, request_id: UUID, decision: str, note: str | None) -> int:
    from storyhub.accounts import verification
    from storyhub.lib.blobs import build_blob_store
    from storyhub.lib.crypto import FieldCipher

    blobs = build_blob_store(settings.s3, settings.data_dir)
    try:
        decided = await verification.decide(
            request_id,
            "approve" if decision == "approve" else "reject",
            note,
            reviewer_id=None,
            by="cli",
            blobs=blobs,
            cipher=FieldCipher(settings.secret_key),
            ip="cli",
        )
    finally:
        await blobs.aclose()
    print(f"{decided.id} is now {decided.status}; its document was deleted.")
    return 0


def run_verifications(args: argparse.Namespace) -> int:
    """The ``verifications`` entry point (exit 2 on bad settings, 1 on a refusal)."""
    from storyhub.piccolo_app import TABLES

    async def work(settings: Settings) -> int:
        if args.action == "list":
            return await _list(None if args.status == "all" else args.status)
        return await _decide(settings, args.id, args.action, args.note)

    return run_with_database(TABLES, work)


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
