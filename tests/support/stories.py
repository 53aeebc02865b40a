"""Stories for end-to-end tests, seeded directly into a running server's database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.users import TestUser


def create_story(
    server: ServerProcess,
    owner: TestUser,
    collaborators: Sequence[tuple[TestUser, str]] = (),
    *,
    age_rating: str = "allAges",
    settings: dict[str, Any] | None = None,
    title: str = "A test story",
) -> uuid.UUID:
    """Insert a story owned by ``owner`` (an ``author`` row) plus ``(user, role)`` rows."""
    story_id = uuid.uuid4()
    now = datetime.now(UTC)
    execute(
        server,
        "INSERT INTO stories (id, title, premise, creator, age_rating, status, visibility,"
        " settings, turn_state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'active', 'private', ?, '{}', ?, ?)",
        story_id,
        title,
        "Once upon a time.",
        owner.id,
        age_rating,
        json.dumps(settings or {}),
        now,
        now,
    )
    for user, role in [(owner, "author"), *collaborators]:
        execute(
            server,
            'INSERT INTO collaborators (story, "user", role, joined_at) VALUES (?, ?, ?, ?)',
            story_id,
            user.id,
            role,
            now,
        )
    return story_id


def segments(server: ServerProcess, story_id: uuid.UUID) -> list[tuple[int, str, str | None]]:
    """(seq, content, client_msg_id) of every committed segment, by seq."""
    rows = execute(
        server,
        "SELECT seq, content, client_msg_id FROM segments WHERE story = ? ORDER BY seq",
        story_id,
    )
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


def story_status(server: ServerProcess, story_id: uuid.UUID) -> str:
    rows = execute(server, "SELECT status FROM stories WHERE id = ?", story_id)
    return str(rows[0][0])


def set_role(server: ServerProcess, story_id: uuid.UUID, user: TestUser, role: str) -> None:
    execute(
        server,
        'UPDATE collaborators SET role = ? WHERE story = ? AND "user" = ?',
        role,
        story_id,
        user.id,
    )
