"""``storyhub admin ...``: each domain registers its own subcommands here."""

from __future__ import annotations

import argparse
from typing import Any


def register_admin_commands(sub: Any) -> None:
    """Add every domain's admin subcommands to the ``admin`` parser."""
    registrars: list[Any] = []
    for register in registrars:
        register(sub)
    if not registrars:
        sub.add_parser("noop", help=argparse.SUPPRESS)
