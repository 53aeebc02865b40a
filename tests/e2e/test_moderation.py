"""The moderation queue over real HTTP and the real admin command, in both modes.

Items are seeded straight into the server's database, sealed the way
``ModerationQueue.record_blocked`` seals them (the live-session actor will
create them from blocked WebSocket messages; that path is not wired yet).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from storyhub.lib.crypto import FieldCipher
from storyhub.safety.moderation import content_context
from tests.support.cli import run_admin
from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import TestUser, create_user

TEXT = "are you home alone? text me on 07700 900123"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client


def seed_item(
    server: ServerProcess,
    story_id: uuid.UUID | None,
    author: TestUser | None,
    text: str = TEXT,
    categories: tuple[str, ...] = ("grooming", "personalData"),
    source: str = "chat",
) -> str:
    item_id = uuid.uuid4()
    cipher = FieldCipher(server.env["STORYHUB_SECRET_KEY"])
    execute(
        server,
        "INSERT INTO moderation_items (id, story, author, source, content, verdict, categories,"
        " status, decided_by, created_at, decided_at)"
        " VALUES (?, ?, ?, ?, ?, 'block', ?, 'pending', NULL, ?, NULL)",
        item_id,
        story_id,
        None if author is None else author.id,
        source,
        cipher.seal(text, context=content_context(item_id)),
        json.dumps(list(categories)),
        datetime.now(UTC),
    )
    return str(item_id)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def status_of(server: ServerProcess, item_id: str) -> str:
    rows = execute(server, "SELECT status FROM moderation_items WHERE id = ?", uuid.UUID(item_id))
    return str(rows[0][0])


def listed_ids(api: httpx.Client, user: TestUser, **params: Any) -> list[str]:
    response = api.get("/moderation/items", params={"limit": 100, **params}, headers=user.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestAccess:
    """Only active moderators and admins reach the queue."""

    def test_a_normal_user_gets_403_on_every_route(
        self, api: httpx.Client, server: ServerProcess
    ) -> None:
        author = create_user(server, age_tier="child", display_name="Pip")
        item_id = seed_item(server, create_story(server, author), author)
        user = create_user(server)
        for response in (
            api.get("/moderation/items", headers=user.headers),
            api.get(f"/moderation/items/{item_id}", headers=user.headers),
            api.post(
                f"/moderation/items/{item_id}/decision",
                json={"decision": "release"},
                headers=user.headers,
            ),
        ):
            body = problem(response, 403, "forbidden")
            assert TEXT not in json.dumps(body)
        problem(api.get("/moderation/items"), 401, "unauthenticated")
        assert status_of(server, item_id) == "pending"

    def test_a_moderator_waiting_for_consent_is_refused(
        self, api: httpx.Client, server: ServerProcess
    ) -> None:
        waiting = create_user(server, role="moderator", status="pendingConsent")
        problem(api.get("/moderation/items", headers=waiting.headers), 403, "consentRequired")


class TestModeratorFlow:
    def test_list_view_and_decide(self, api: httpx.Client, server: ServerProcess) -> None:
        author = create_user(server, age_tier="child", display_name="Pip")
        story_id = create_story(server, author, title="The Lighthouse")
        item_id = seed_item(server, story_id, author)
        moderator = create_user(server, role="moderator")

        page = api.get(
            "/moderation/items", params={"storyId": str(story_id)}, headers=moderator.headers
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["nextCursor"] is None
        assert [item["id"] for item in body["items"]] == [item_id]
        listed = body["items"][0]
        assert listed["status"] == "pending"
        assert listed["source"] == "chat"
        assert listed["categories"] == ["grooming", "personalData"]
        assert "content" not in listed  # the list never opens sealed text

        shown = api.get(f"/moderation/items/{item_id}", headers=moderator.headers)
        assert shown.status_code == 200, shown.text
        assert shown.headers["cache-control"] == "no-store"
        detail = shown.json()
        assert detail["content"] == TEXT
        assert detail["storyTitle"] == "The Lighthouse"
        assert detail["storyId"] == str(story_id)
        assert detail["authorDisplayName"] == "Pip"
        assert detail["authorAgeTier"] == "child"
        assert author.email not in shown.text  # display names only, never emails
        # The database holds ciphertext, not the child's words.
        raw = execute(
            server, "SELECT content FROM moderation_items WHERE id = ?", uuid.UUID(item_id)
        )
        assert raw[0][0] != TEXT
        assert "07700" not in raw[0][0]

        decided = api.post(
            f"/moderation/items/{item_id}/decision",
            json={"decision": "uphold", "note": "contact-seeking"},
            headers=moderator.headers,
        )
        assert decided.status_code == 200, decided.text
        after = decided.json()
        assert after["status"] == "upheld"
        assert after["decidedBy"] == str(moderator.id)
        assert [(h["decision"], h["by"], h["note"]) for h in after["history"]] == [
            ("uphold", str(moderator.id), "contact-seeking")
        ]
        assert item_id not in listed_ids(api, moderator, storyId=str(story_id))
        assert listed_ids(api, moderator, storyId=str(story_id), status="upheld") == [item_id]
        audit = execute(
            server,
            "SELECT action, actor_id FROM audit_events WHERE subject = ? ORDER BY id",
            f"moderation:{item_id}",
        )
        assert [(a, str(actor)) for a, actor in audit] == [
            ("moderation.viewed", str(moderator.id)),
            ("moderation.decided", str(moderator.id)),
        ]

        again = api.post(
            f"/moderation/items/{item_id}/decision",
            json={"decision": "release"},
            headers=moderator.headers,
        )
        problem(again, 409, "alreadyDecided")
        assert status_of(server, item_id) == "upheld"

    def test_release_does_not_publish_the_text(
        self, api: httpx.Client, server: ServerProcess
    ) -> None:
        author = create_user(server)
        story_id = create_story(server, author)
        item_id = seed_item(server, story_id, author, "the goblins were stupid", ("profanity",))
        admin = create_user(server, role="admin")
        released = api.post(
            f"/moderation/items/{item_id}/decision",
            json={"decision": "release"},
            headers=admin.headers,
        )
        assert released.status_code == 200, released.text
        assert released.json()["status"] == "released"
        segments = api.get(f"/stories/{story_id}/segments", headers=author.headers)
        assert segments.status_code == 200, segments.text
        assert "goblins" not in segments.text
        chat = execute(server, "SELECT count(*) FROM chat_messages WHERE story = ?", story_id)
        assert chat[0][0] == 0

    def test_a_moderator_cannot_decide_about_their_own_content(
        self, api: httpx.Client, server: ServerProcess
    ) -> None:
        moderator = create_user(server, role="moderator")
        item_id = seed_item(server, create_story(server, moderator), moderator)
        response = api.post(
            f"/moderation/items/{item_id}/decision",
            json={"decision": "release"},
            headers=moderator.headers,
        )
        problem(response, 403, "ownContent")
        assert status_of(server, item_id) == "pending"

    def test_escalated_items_go_to_an_admin(self, api: httpx.Client, server: ServerProcess) -> None:
        author = create_user(server)
        item_id = seed_item(server, create_story(server, author), author)
        moderator = create_user(server, role="moderator")
        admin = create_user(server, role="admin")
        path = f"/moderation/items/{item_id}/decision"
        escalated = api.post(path, json={"decision": "escalate"}, headers=moderator.headers)
        assert escalated.json()["status"] == "escalated"
        problem(
            api.post(path, json={"decision": "uphold"}, headers=moderator.headers),
            403,
            "escalatedToAdmin",
        )
        upheld = api.post(path, json={"decision": "uphold"}, headers=admin.headers)
        assert upheld.json()["status"] == "upheld"


class TestBadInput:
    """Every bad request is a 400/404 problem and changes nothing."""

    @pytest.mark.parametrize(
        "body",
        [
            {"decision": "delete"},
            {"decision": "Uphold"},
            {"decision": None},
            {},
            {"decision": "uphold", "reason": "extra field"},
            {"decision": "uphold", "note": 5},
            ["uphold"],
        ],
    )
    def test_bad_decision_bodies(self, api: httpx.Client, server: ServerProcess, body: Any) -> None:
        author = create_user(server)
        item_id = seed_item(server, create_story(server, author), author)
        moderator = create_user(server, role="moderator")
        response = api.post(
            f"/moderation/items/{item_id}/decision", json=body, headers=moderator.headers
        )
        problem(response, 400, "invalidInput")
        assert status_of(server, item_id) == "pending"

    def test_note_too_long_unknown_item_and_bad_queries(
        self, api: httpx.Client, server: ServerProcess
    ) -> None:
        author = create_user(server)
        item_id = seed_item(server, create_story(server, author), author)
        moderator = create_user(server, role="moderator")
        h = moderator.headers
        problem(
            api.post(
                f"/moderation/items/{item_id}/decision",
                json={"decision": "uphold", "note": "n" * 501},
                headers=h,
            ),
            400,
            "noteTooLong",
        )
        assert status_of(server, item_id) == "pending"
        missing = uuid.uuid4()
        problem(api.get(f"/moderation/items/{missing}", headers=h), 404, "moderationItemNotFound")
        problem(
            api.post(
                f"/moderation/items/{missing}/decision", json={"decision": "uphold"}, headers=h
            ),
            404,
            "moderationItemNotFound",
        )
        problem(api.get("/moderation/items/not-a-uuid", headers=h), 404, "notFound")
        for params in (
            {"status": "deleted"},
            {"limit": "0"},
            {"limit": "101"},
            {"limit": "many"},
            {"storyId": "nope"},
        ):
            problem(api.get("/moderation/items", params=params, headers=h), 400, "invalidInput")
        problem(
            api.get("/moderation/items", params={"cursor": "garbage"}, headers=h),
            400,
            "invalidCursor",
        )

    def test_paging_with_cursor(self, api: httpx.Client, server: ServerProcess) -> None:
        author = create_user(server)
        story_id = create_story(server, author)
        ids = [seed_item(server, story_id, author, f"text {i}") for i in range(3)]
        moderator = create_user(server, role="moderator")
        seen: list[str] = []
        params: dict[str, Any] = {"storyId": str(story_id), "limit": 2}
        while True:
            page = api.get("/moderation/items", params=params, headers=moderator.headers).json()
            seen += [item["id"] for item in page["items"]]
            if page["nextCursor"] is None:
                break
            params["cursor"] = page["nextCursor"]
        assert seen == ids


def admin_moderation(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    settings = {k: v for k, v in server.env.items() if k.startswith("STORYHUB_")}
    return run_admin(settings, "moderation", *args)


class TestAdminCommand:
    def test_list_show_decide_purge(self, server: ServerProcess) -> None:
        author = create_user(server, display_name="Quill")
        item_id = seed_item(server, create_story(server, author, title="Cloud City"), author)

        listed = admin_moderation(server, "list")
        assert listed.returncode == 0, listed.stderr
        assert item_id in listed.stdout
        assert TEXT not in listed.stdout

        shown = admin_moderation(server, "show", item_id)
        assert shown.returncode == 0, shown.stderr
        assert TEXT in shown.stdout
        assert "Cloud City" in shown.stdout
        assert "Quill" in shown.stdout

        bad = admin_moderation(server, "decide", item_id, "--decision", "delete")
        assert bad.returncode == 2
        assert status_of(server, item_id) == "pending"

        decided = admin_moderation(server, "decide", item_id, "--decision", "release")
        assert decided.returncode == 0, decided.stderr
        assert "released" in decided.stdout
        assert status_of(server, item_id) == "released"
        again = admin_moderation(server, "decide", item_id, "--decision", "uphold")
        assert again.returncode == 1
        assert "alreadyDecided" in again.stderr

        exported = admin_moderation(server, "false-positives")
        assert exported.returncode == 0, exported.stderr
        lines = [json.loads(line) for line in exported.stdout.splitlines()]
        assert {
            "text": TEXT,
            "categories": ["grooming", "personalData"],
            "source": "chat",
            "itemId": item_id,
        } in lines

        missing = admin_moderation(server, "show", str(uuid.uuid4()))
        assert missing.returncode == 1
        assert "moderationItemNotFound" in missing.stderr

        purged = admin_moderation(server, "purge", "--older-than-days", "0")
        assert purged.returncode == 0, purged.stderr
        raw = execute(
            server, "SELECT content FROM moderation_items WHERE id = ?", uuid.UUID(item_id)
        )
        assert raw[0][0] == ""
        assert "erased" in admin_moderation(server, "show", item_id).stdout
        assert admin_moderation(server, "purge", "--older-than-days", "-3").returncode == 2
