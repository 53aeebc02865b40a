"""``storyhub admin ...``: each domain registers its own subcommands here."""

from __future__ import annotations

from typing import Any


def register_admin_commands(sub: Any) -> None:
    """Add every domain's admin subcommands to the ``admin`` parser."""
    from storyhub.accounts.commands import register_commands as accounts_commands
    from storyhub.accounts.users_commands import register_commands as users_commands
    from storyhub.accounts.verification_commands import (
        register_commands as verification_commands,
    )
    from storyhub.datarights.commands import register_commands as export_commands
    from storyhub.mail.commands import register_commands as mail_commands
    from storyhub.retention.commands import register_commands as retention_commands
    from storyhub.safety.moderation_commands import register_commands as moderation_commands

    registrars: list[Any] = [
        accounts_commands,
        users_commands,
        mail_commands,
        verification_commands,
        moderation_commands,
        retention_commands,
        export_commands,
    ]
    for register in registrars:
        register(sub)
