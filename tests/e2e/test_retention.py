"""A parent revokes consent over HTTP; retention deletes the child, by CLI and by the server's loop.

Each test gets its own data dir (and PostgreSQL database in services mode),
because a retention pass acts on the whole database.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import base_env, fresh_pg_database
from tests.support.cli import run_admin
from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import TestUser, create_user

PASSWORD = "a long enough passphrase"


def _years_ago(years: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years, day=1).isoformat()


def _env(mode: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    env = base_env(tmp_path / "data")
    if mode == "services":
        env["STORYHUB_DATABASE_URL"] = fresh_pg_database(f"ret{uuid.uuid4().hex[:6]}")
        env["STORYHUB_VALKEY_URL"] = request.getfixturevalue("redis_url")
    env["STORYHUB_DELETION_GRACE_HOURS"] = "0"
    return env


@pytest.fixture
def started(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A function that starts a server in ``mode`` with extra settings (stopped afterwards)."""
    servers: list[ServerProcess] = []

    def start(mode: str, **extra: str) -> ServerProcess:
        env = {**_env(mode, tmp_path, request), **extra}
        server = ServerProcess(env, tmp_path / f"server-{len(servers)}.log")
        servers.append(server)
        server.start(timeout=120)  # the shared 2-core machine can be slow to migrate
        return server

    yield start
    for server in servers:
        server.stop()


class Family:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            email = f"mum-{uuid.uuid4().hex[:8]}@example.test"
            made = http.post(
                "/auth/register",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "displayName": "Mum",
                    "birthDate": _years_ago(40),
                    "country": "US",
                },
            )
            assert made.status_code == 201, made.text
            login = http.post("/auth/login", json={"email": email, "password": PASSWORD})
            self.parent = {"Authorization": f"Bearer {login.json()['accessToken']}"}
            child = http.post(
                "/parents/children",
                json={"displayName": "Kiddo", "birthDate": _years_ago(8), "password": PASSWORD},
                headers=self.parent,
            )
            assert child.status_code == 201, child.text
        body = child.json()
        self.child = TestUser(
            id=uuid.UUID(body["id"]), email=body["email"], token="", display_name="Kiddo"
        )
        self.other = create_user(server, display_name="Other")
        self.alone = create_story(server, self.child, title="Kiddo's own")
        self.shared = create_story(server, self.other, [(self.child, "author")], title="Castle")
        now = datetime.now(UTC)
        for story, seq, author, text in (
            (self.alone, 1, self.child.id, "Kiddo lives on Elm Street."),
            (self.shared, 1, self.other.id, "The castle stood."),
            (self.shared, 2, self.child.id, "Kiddo opened the gate."),
            (self.shared, 3, self.other.id, "Rain came."),
        ):
            execute(
                server,
                "INSERT INTO segments (story, seq, author, content, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                story,
                seq,
                author,
                text,
                now,
            )

    def revoke(self) -> str:
        with httpx.Client(base_url=self.server.base_url, timeout=15) as http:
            revoked = http.delete(f"/parents/children/{self.child.id}/consent", headers=self.parent)
        assert revoked.status_code == 200, revoked.text
        job_id: str = revoked.json()["deletionJobId"]
        return job_id

    def shared_segments(self) -> list[tuple[Any, ...]]:
        return execute(
            self.server,
            "SELECT seq, content FROM segments WHERE story = ? ORDER BY seq",
            self.shared,
        )

    def job_status(self, job_id: str) -> str:
        [(status,)] = execute(
            self.server, "SELECT status FROM jobs WHERE id = ?", uuid.UUID(job_id)
        )
        return str(status)


def _cli(server: ServerProcess, *args: str) -> list[dict[str, Any]]:
    done = run_admin(server.env, "retention", "run", *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("mode", ["embedded", "services"])
def test_cli_dry_run_then_run_then_nothing(mode: str, started: Any) -> None:
    server = started(mode, STORYHUB_RETENTION_INTERVAL_SECONDS="0")
    family = Family(server)
    job_id = family.revoke()
    before = family.shared_segments()

    dry = _cli(server, "--dry-run")
    [planned] = [line for line in dry if line["kind"] == "accountDeleted"]
    assert planned["dryRun"] is True
    assert planned["jobId"] == job_id
    assert planned["counts"]["storiesDeleted"] == 1
    assert planned["counts"]["segmentsErased"] == 1
    assert {line["kind"] for line in dry} >= {"sessionRecords", "sentMail", "jobs"}
    assert family.shared_segments() == before
    assert family.job_status(job_id) == "queued"

    report = _cli(server)
    [deleted] = [line for line in report if line["kind"] == "accountDeleted"]
    assert "dryRun" not in deleted  # omitted when false
    assert deleted["counts"] == planned["counts"]
    assert family.job_status(job_id) == "done"
    assert family.shared_segments() == [
        (1, "The castle stood."),
        (2, "[removed]"),
        (3, "Rain came."),
    ]
    assert execute(server, "SELECT id FROM stories WHERE id = ?", family.alone) == []
    [(email, name)] = execute(
        server, "SELECT email, display_name FROM users WHERE id = ?", family.child.id
    )
    assert email != family.child.email
    assert name == "Former member"

    again = _cli(server)
    assert [line for line in again if line["count"]] == []


@pytest.mark.parametrize("mode", ["embedded", "services"])
def test_the_server_loop_deletes_a_revoked_child(mode: str, started: Any) -> None:
    server = started(mode, STORYHUB_RETENTION_INTERVAL_SECONDS="1")
    family = Family(server)
    job_id = family.revoke()
    deadline = time.monotonic() + 30
    while family.job_status(job_id) != "done":
        assert time.monotonic() < deadline, server.tail()
        time.sleep(0.2)  # polling the job row: the loop has no other signal
    assert family.shared_segments()[1] == (2, "[removed]")
    assert execute(server, "SELECT id FROM stories WHERE id = ?", family.alone) == []
