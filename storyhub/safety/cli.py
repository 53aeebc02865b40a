"""``storyhub safety check``: run the service's content filter over stdin, line by line.

Contract (issue 4): reads one text per line on stdin and writes one JSON object
per line, ``{"text", "verdict", "categories", "redacted"}``, using the same
pipeline as the service (with OpenAI moderation when a key is configured).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import IO, Any

import msgspec

from storyhub.safety.levels import LEVELS, SafetyLevel
from storyhub.safety.pipeline import SafetyPipeline, build_pipeline


class CheckResult(msgspec.Struct):
    """One output line."""

    text: str
    verdict: str
    categories: list[str]
    redacted: str | None


def register(sub: Any) -> None:
    """Add the ``safety`` command group to the top-level subparsers ``sub``."""
    safety = sub.add_parser("safety", help="content safety tools")
    safety_sub = safety.add_subparsers(dest="safety_command", required=True)
    check = safety_sub.add_parser(
        "check", help="filter one text per stdin line, print one JSON verdict per line"
    )
    check.add_argument("--rating", choices=LEVELS, default="allAges", help="the room's level")
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Entry point for ``storyhub safety check``."""
    from storyhub.lib.cli_support import settings_or_exit

    pipeline = build_pipeline(settings_or_exit())
    return asyncio.run(run_check(pipeline, args.rating, sys.stdin, sys.stdout))


async def run_check(
    pipeline: SafetyPipeline, level: SafetyLevel, stdin: IO[str], stdout: IO[str]
) -> int:
    """Filter each line of ``stdin`` and write its verdict to ``stdout``."""
    encoder = msgspec.json.Encoder()
    try:
        for line in stdin:
            text = line.rstrip("\r\n")
            verdict = await pipeline.check(text, level)
            result = CheckResult(text, verdict.verdict, verdict.categories, verdict.redacted)
            stdout.write(encoder.encode(result).decode() + "\n")
            stdout.flush()
    finally:
        await pipeline.aclose()
    return 0
