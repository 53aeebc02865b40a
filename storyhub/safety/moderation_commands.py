"""``storyhub admin moderation list|show|decide|purge|false-positives``: the queue from a shell.

The operator at the shell acts with an admin's rights (``by: "cli"`` in the
audit log): they may decide escalated items.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any
from uuid import UUID

from storyhub.lib.cli_support import run_with_database
from storyhub.lib.crypto import FieldCipher
from storyhub.safety.moderation import (
    DECISIONS,
    MAX_PAGE,
    STATUSES,
    ItemDetail,
    ModerationQueue,
)
from storyhub.settings import Settings


def _tables() -> list[Any]:
    from storyhub.piccolo_app import TABLES

    return TABLES


def _queue(settings: Settings) -> ModerationQueue:
    return ModerationQueue(FieldCipher(settings.secret_key))


def _print_detail(item: ItemDetail) -> None:
    story = f"{item.story_title!r} ({item.story_rating})" if item.story_title else "-"
    author = (
        f"{item.author_display_name} ({item.author_age_tier})"
        if item.author_display_name
        else ("the AI narrator" if item.source.startswith("ai") else "-")
    )
    print(f"id:         {item.id}")
    print(f"status:     {item.status}")
    print(f"source:     {item.source}   verdict: {item.verdict}")
    print(f"categories: {', '.join(item.categories) or '-'}")
    print(f"story:      {story}  {item.story_id or ''}")
    print(f"author:     {author}  {item.author_id or ''}")
    print(f"created:    {item.created_at:%Y-%m-%d %H:%M:%S}Z")
    for entry in item.history:
        note = f"  note: {entry.note}" if entry.note else ""
        at = f"{entry.at:%Y-%m-%d %H:%M}Z"
        print(f"decision:   {entry.decision} -> {entry.status} by {entry.by} at {at}{note}")
    print("content:")
    if item.content_erased:
        print("  (erased after the retention period)")
    elif item.content is None:
        print("  (cannot be decrypted with the configured secret key)")
    else:
        for line in item.content.splitlines() or [""]:
            print(f"  {line}")


def _list(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        status = None if args.status == "all" else args.status
        page = await _queue(settings).list_items(status=status, limit=args.limit)
        if not page.items:
            print("no moderation items" + (f" in status {status}" if status else ""))
        for item in page.items:
            erased = "  (erased)" if item.content_erased else ""
            print(
                f"{item.id}  {item.status:9}  {item.source:13}  "
                f"{','.join(item.categories) or '-':24}  story {item.story_id}  "
                f"{item.created_at:%Y-%m-%d %H:%M}{erased}"
            )
        if page.next_cursor is not None:
            print(f"(more than {args.limit}; pass --limit up to {MAX_PAGE}, or use the API)")
        return 0

    return run_with_database(_tables(), work)


def _show(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        _print_detail(await _queue(settings).get_item(args.id, viewer_id=None, ip="cli"))
        return 0

    return run_with_database(_tables(), work)


def _decide(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        item = await _queue(settings).decide(
            args.id, args.decision, args.note, reviewer=None, ip="cli"
        )
        print(f"{item.id} is now {item.status}.")
        if item.status == "released":
            print("Released items are not added to the story; this marks a filter mistake.")
        return 0

    return run_with_database(_tables(), work)


def _purge(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        erased = await _queue(settings).purge_decided(
            timedelta(days=args.older_than_days), by="cli"
        )
        print(
            f"erased the content of {erased} decided item(s) older than {args.older_than_days} days"
        )
        return 0

    return run_with_database(_tables(), work)


def _false_positives(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        for item in await _queue(settings).false_positives(limit=args.limit):
            line = {
                "text": item.text,
                "categories": item.categories,
                "source": item.source,
                "itemId": str(item.item_id),
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        return 0

    return run_with_database(_tables(), work)


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an item id") from None


def _days(raw: str) -> int:
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of days (0 or more)")
    return days


def register_commands(sub: Any) -> None:
    """Add ``moderation`` to the ``storyhub admin`` parser."""
    parser = sub.add_parser("moderation", help="review content the safety filter blocked")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="items waiting for a decision (or --status)")
    listing.add_argument("--status", default="pending", choices=[*STATUSES, "all"])
    listing.add_argument(
        "--limit", type=int, default=MAX_PAGE, choices=range(1, MAX_PAGE + 1), metavar="N"
    )
    listing.set_defaults(func=_list)

    show = actions.add_parser("show", help="one item with its decrypted content (audited)")
    show.add_argument("id", type=_uuid)
    show.set_defaults(func=_show)

    decide = actions.add_parser("decide", help="uphold, release or escalate an item")
    decide.add_argument("id", type=_uuid)
    decide.add_argument("--decision", required=True, choices=DECISIONS)
    decide.add_argument("--note", default=None)
    decide.set_defaults(func=_decide)

    purge = actions.add_parser(
        "purge", help="erase the content of items decided more than N days ago"
    )
    purge.add_argument("--older-than-days", required=True, type=_days, metavar="N")
    purge.set_defaults(func=_purge)

    exported = actions.add_parser(
        "false-positives", help="released texts as JSON lines, for the safety corpus"
    )
    exported.add_argument("--limit", type=int, default=500)
    exported.set_defaults(func=_false_positives)
