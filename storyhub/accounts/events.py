"""Application events the accounts domain emits.

``user_sessions_revoked`` (keyword ``user_id``) fires on logout, password
change and refresh-token reuse: whoever holds live connections for that user
(the WebSocket gateway) should close them. Litestar's emitter refuses events
nobody listens to, so this module always provides one listener that logs.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from litestar.events import listener

SESSIONS_REVOKED = "user_sessions_revoked"

log = logging.getLogger("storyhub.accounts")


@listener(SESSIONS_REVOKED)
async def log_sessions_revoked(user_id: UUID, **_: Any) -> None:
    """Note that a user's sessions were revoked (the event always has a listener)."""
    log.info("sessions revoked", extra={"userId": str(user_id)})
