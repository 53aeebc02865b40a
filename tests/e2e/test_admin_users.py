"""``storyhub admin users ...`` against a running server's database, in both modes."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.cli import run_admin
from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import access_token, create_user
from tests.support.wsclient import StoryClient


def _users(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return run_admin(server.env, "users", *args)


def _ok(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _refused(done: subprocess.CompletedProcess[str], code: str) -> None:
    assert done.returncode == 1, done.stdout
    assert f"({code})" in done.stderr, done.stderr


class TestAdminUsers:
    async def test_find_promote_deactivate_and_reactivate(self, server: ServerProcess) -> None:
        alice = create_user(server, display_name="Alice Admin-Test")
        kid = create_user(server, age_tier="child")
        story = create_story(server, alice)

        [shown] = _ok(_users(server, "show", alice.email.upper()))
        assert (shown["id"], shown["role"], shown["status"]) == (str(alice.id), "user", "active")
        listed = _ok(_users(server, "list", "--email", alice.email.split("@")[0][-8:]))
        assert [row["id"] for row in listed] == [str(alice.id)]
        _refused(_users(server, "show", "nobody@example.test"), "userNotFound")

        # Roles: adults only for moderator and admin; the new role counts at once.
        _refused(_users(server, "set-role", str(kid.id), "moderator"), "notAdult")
        [promoted] = _ok(_users(server, "set-role", str(alice.id), "moderator"))
        assert promoted["role"] == "moderator"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            answer = await http.get("/moderation/items", headers=alice.headers)
            assert answer.status_code == 200, answer.text

        # Deactivation: signed out everywhere; in services mode live sockets close too.
        client = await StoryClient.open(server, story, alice.token)
        await client.join()
        off = _users(server, "deactivate", alice.email, "--reason", "test of the operator tools")
        [gone] = _ok(off)
        assert gone["status"] == "deactivated"
        if "STORYHUB_VALKEY_URL" in server.env:
            with pytest.raises(ConnectionClosed):
                await _drain(client)
        else:
            assert "embedded mode" in off.stderr
            await client.close()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            assert (await http.get("/users/me", headers=alice.headers)).status_code == 401
        _refused(
            _users(server, "deactivate", str(alice.id), "--reason", "again"), "alreadyDeactivated"
        )

        # Reactivation restores what it was; a fresh token (the epoch moved) works.
        [back] = _ok(_users(server, "reactivate", str(alice.id)))
        assert back["status"] == "active"
        fresh = {"Authorization": f"Bearer {access_token(server, alice.id, epoch=1)}"}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            me = await http.get("/users/me", headers=fresh)
            assert me.status_code == 200, me.text
            assert me.json()["role"] == "moderator"
        _refused(_users(server, "reactivate", str(alice.id)), "notDeactivated")

        actions = [
            row[0]
            for row in execute(
                server,
                "SELECT action FROM audit_events WHERE subject = ? ORDER BY id",
                f"user:{alice.id}",
            )
        ]
        assert actions == ["admin.roleChanged", "admin.deactivated", "admin.reactivated"]

    def test_an_account_being_deleted_is_not_reactivated(self, server: ServerProcess) -> None:
        kid = create_user(server, age_tier="child", status="deactivated")
        now = datetime.now(UTC)
        execute(
            server,
            "INSERT INTO jobs (id, owner, kind, status, result, created_at, updated_at)"
            " VALUES (?, ?, 'accountDeletion', 'queued', '{}', ?, ?)",
            uuid.uuid4(),
            kid.id,
            now,
            now,
        )
        _refused(_users(server, "reactivate", str(kid.id)), "deletionPending")
        [still] = _ok(_users(server, "show", str(kid.id)))
        assert still["status"] == "deactivated"
        # Nor one that an operator did not deactivate.
        other = create_user(server, status="deactivated")
        _refused(_users(server, "reactivate", other.email), "notDeactivatedByOperator")


async def _drain(client: StoryClient) -> None:
    """Receive until the server closes the socket (at most 50 events, 10 s each)."""
    for _ in range(50):
        await client.recv(timeout=10)
