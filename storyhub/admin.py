"""``storyhub admin ...``: each domain registers its own subcommands here."""

from __future__ import annotations

from typing import Any


def register_admin_commands(sub: Any) -> None:
    """Add every domain's admin subcommands to the ``admin`` parser."""
    from storyhub.accounts.commands import register_commands as accounts_commands

    registrars: list[Any] = [accounts_commands]
    for register in registrars:
        register(sub)
