"""Data exports against a real server: a user's own, a parent's review of a child's.

Accounts are registered over HTTP (so the birth date is really sealed); the
child's story and note go through the API, a segment straight into the
database. The export must hold all of it, none of the secrets, and answer
nobody else.
"""

from __future__ import annotations

import json
import stat
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.support.cli import run_admin
from tests.support.families import register_family
from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.users import create_user


class TestDataExport:
    def test_a_parent_reviews_everything_about_the_child_and_nobody_else_can(
        self, server: ServerProcess
    ) -> None:
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            family = register_family(http, ["participate"], child_name="Robin", child_age=9)
            parent, parent_id, kid, child = (
                family.parent,
                family.parent_id,
                family.kid,
                family.child,
            )
            story = http.post(
                "/stories",
                json={
                    "title": "The Moon Boat",
                    "premise": "A boat sails to the moon.",
                    "ageRating": "allAges",
                },
                headers=kid,
            )
            assert story.status_code == 201, story.text
            story_id = story.json()["id"]
            fact = http.post(
                f"/stories/{story_id}/memory",
                json={"text": "The boat is called Luna."},
                headers=kid,
            )
            assert fact.status_code == 201, fact.text
            execute(
                server,
                "INSERT INTO segments (story, seq, author, content, revision, created_at)"
                " VALUES (?, 1, ?, 'Robin rowed past the stars.', 0, ?)",
                uuid.UUID(story_id),
                uuid.UUID(child["id"]),
                datetime.now(UTC),
            )

            answer = http.get(f"/parents/children/{child['id']}/export", headers=parent)
            assert answer.status_code == 200, answer.text
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["content-disposition"] == (
                f'attachment; filename="storyhub-export-{child["id"]}.json"'
            )
            document = answer.json()
            assert document["format"] == 1
            account = document["account"]
            assert account["id"] == child["id"]
            assert account["email"] == child["email"]
            assert account["displayName"] == "Robin"
            assert account["birthDate"] == child["birthDate"]
            assert account["ageTier"] == "child"
            assert [p["userId"] for p in document["parents"]] == [parent_id]
            assert document["consents"][0]["scopes"] == ["participate"]
            assert document["consents"][0]["parentId"] == parent_id
            assert [(s["id"], s["title"], s["role"]) for s in document["stories"]] == [
                (story_id, "The Moon Boat", "owner")
            ]
            assert [(s["storyId"], s["seq"], s["content"]) for s in document["segments"]] == [
                (story_id, 1, "Robin rowed past the stars.")
            ]
            assert [(n["kind"], n["text"]) for n in document["narratorNotes"]] == [
                ("fact", "The boat is called Luna.")
            ]
            assert document["sessions"], "the child's sign-in is listed"
            # No secret leaves: hashes, sealed values, tokens.
            text = answer.text
            for secret in ("$argon2", "passwordHash", "birthDateEnc", "tokenHash", "evidence"):
                assert secret not in text, secret

            # The child's own export: the same account, and the parent's export in its trail,
            # without the parent's address.
            own = http.get("/users/me/export", headers=kid)
            assert own.status_code == 200, own.text
            mine = own.json()
            assert mine["account"]["id"] == child["id"]
            [by_parent] = [e for e in mine["auditEvents"] if e["action"] == "data.exported"]
            assert by_parent["byThisAccount"] is False
            assert by_parent["ip"] is None
            assert by_parent["data"] == {"by": "parent"}

            # The parent's own export lists the child.
            theirs = http.get("/users/me/export", headers=parent).json()
            assert [c["userId"] for c in theirs["children"]] == [child["id"]]
            # Its own trail has the review of the child (this export is recorded after it is read).
            [review] = [e for e in theirs["auditEvents"] if e["action"] == "data.exported"]
            assert (review["subject"], review["byThisAccount"]) == (f"user:{child['id']}", True)
            assert review["ip"] == "127.0.0.1"

            # Nobody else: another adult, the child asking about the parent, no token.
            stranger = create_user(server)
            for headers, target in (
                (stranger.headers, child["id"]),
                (kid, parent_id),
                (parent, str(uuid.uuid4())),
            ):
                refused = http.get(f"/parents/children/{target}/export", headers=headers)
                assert refused.status_code == 404, refused.text
                assert refused.json()["code"] == "childNotFound"
            assert http.get("/users/me/export").status_code == 401


def _admin_export(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return run_admin(server.env, "export", *args)


class TestAdminExport:
    def test_an_operator_exports_by_email_or_id(
        self, server: ServerProcess, tmp_path: Path
    ) -> None:
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            family = register_family(http, ["participate"], child_name="Ash")
        out = tmp_path / "export.json"
        by_email = _admin_export(server, family.child["email"].upper(), "--output", str(out))
        assert by_email.returncode == 0, by_email.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        document = json.loads(out.read_text())
        assert document["account"]["id"] == family.child["id"]
        assert document["account"]["birthDate"] == family.child["birthDate"]

        by_id = _admin_export(server, family.child["id"])
        assert by_id.returncode == 0, by_id.stderr
        assert json.loads(by_id.stdout)["account"]["email"] == family.child["email"]

        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            trail = http.get("/users/me/export", headers=family.kid).json()["auditEvents"]
        assert [e["data"] for e in trail if e["action"] == "data.exported"] == [
            {"by": "cli"},
            {"by": "cli"},
        ]

        for unknown in ("nobody@example.test", str(uuid.uuid4())):
            refused = _admin_export(server, unknown)
            assert refused.returncode == 1
            assert "(userNotFound)" in refused.stderr
            assert refused.stdout == ""
