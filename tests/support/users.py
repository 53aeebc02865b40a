"""Users for end-to-end tests, created directly in a running server's database.

Kept to one small signature so that it can later go through
``/auth/register`` instead without touching the tests that use it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from storyhub.accounts.tokens import TokenService
from tests.support.server import ServerProcess
from tests.support.server_db import execute


@dataclass(frozen=True)
class TestUser:
    """A user who can call the server: ``headers`` carry a fresh access token."""

    __test__ = False  # not a test class, despite the name

    id: uuid.UUID
    email: str
    token: str
    display_name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def access_token(server: ServerProcess, user_id: uuid.UUID, epoch: int = 0) -> str:
    """An access token the server accepts for ``user_id``."""
    tokens = TokenService(
        server.env["STORYHUB_SECRET_KEY"],
        issuer="storyhub",
        audience="storyhub-api",
        ttl_seconds=900,
    )
    return tokens.issue(user_id, epoch=epoch)


def create_user(
    server: ServerProcess,
    *,
    age_tier: str = "adult",
    display_name: str | None = None,
    role: str = "user",
    status: str = "active",
) -> TestUser:
    """Insert an active user of ``age_tier`` and return it with an access token."""
    user_id = uuid.uuid4()
    email = f"user-{user_id.hex[:12]}@example.test"
    name = display_name or f"User {user_id.hex[:6]}"
    now = datetime.now(UTC)
    execute(
        server,
        "INSERT INTO users (id, email, password_hash, display_name, birth_date_enc, age_tier,"
        " status, role, preferences, auth_epoch, created_at, updated_at)"
        " VALUES (?, ?, NULL, ?, ?, ?, ?, ?, '{}', 0, ?, ?)",
        user_id,
        email,
        name,
        "test-only-not-sealed",
        age_tier,
        status,
        role,
        now,
        now,
    )
    return TestUser(id=user_id, email=email, token=access_token(server, user_id), display_name=name)
