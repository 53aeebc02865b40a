"""The stories REST API against a real server, in embedded and services mode."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.users import TestUser, create_user


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client


def new_story(api: httpx.Client, owner: TestUser, **fields: Any) -> dict[str, Any]:
    body = {"title": "The Lighthouse", "premise": "A keeper finds a door.", "ageRating": "allAges"}
    body.update(fields)
    response = api.post("/stories", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    story: dict[str, Any] = response.json()
    return story


def invite(
    api: httpx.Client, by: TestUser, story_id: str, role: str = "author", **who: Any
) -> httpx.Response:
    return api.post(
        f"/stories/{story_id}/collaborators", json={"role": role, **who}, headers=by.headers
    )


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def assert_logged(server: ServerProcess, message: str, needle: str, timeout: float = 5) -> None:
    """The server logged ``message`` on a line mentioning ``needle`` (listeners run async)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_path.read_text(errors="replace").splitlines():
            if message in line and needle in line:
                return
        time.sleep(0.05)
    raise AssertionError(f"{message!r} with {needle!r} not in {server.log_path}")


def story_count(server: ServerProcess, creator: TestUser) -> int:
    rows = execute(server, "SELECT count(*) FROM stories WHERE creator = ?", creator.id)
    return int(rows[0][0])


class TestCreateGetList:
    def test_create_then_get_then_list(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        story = new_story(api, owner, aiNarrator=True, turnSeconds=45)
        assert story["title"] == "The Lighthouse"
        assert story["ageRating"] == "allAges"
        assert story["status"] == "active"
        assert story["creatorId"] == str(owner.id)
        assert story["role"] == "owner"
        assert story["aiNarrator"] is True
        assert story["turnSeconds"] == 45
        assert story["maxSegmentLength"] == 1000
        assert story["visibility"] == "private"
        assert story["completedAt"] is None
        assert story["coverArtUrl"] is None

        fetched = api.get(f"/stories/{story['id']}", headers=owner.headers)
        assert fetched.status_code == 200
        assert fetched.json() == story

        library = api.get("/stories", headers=owner.headers).json()
        assert [s["id"] for s in library["items"]] == [story["id"]]
        assert library["nextCursor"] is None

    def test_the_creator_is_stored_as_an_author_collaborator(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner = create_user(server)
        story = new_story(api, owner)
        rows = execute(
            server,
            'SELECT role FROM collaborators WHERE story = ? AND "user" = ?',
            uuid.UUID(story["id"]),
            owner.id,
        )
        assert rows == [("author",)]

    def test_library_pages_with_a_cursor_newest_first(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner = create_user(server)
        ids = [new_story(api, owner, title=f"Story {i}")["id"] for i in range(5)]
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = api.get("/stories", params=params, headers=owner.headers).json()
            seen += [s["id"] for s in page["items"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))

    def test_library_filters_by_status(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        active = new_story(api, owner)
        done = new_story(api, owner)
        execute(
            server, "UPDATE stories SET status = 'completed' WHERE id = ?", uuid.UUID(done["id"])
        )
        completed = api.get("/stories", params={"status": "completed"}, headers=owner.headers)
        assert [s["id"] for s in completed.json()["items"]] == [done["id"]]
        actives = api.get("/stories", params={"status": "active"}, headers=owner.headers)
        assert [s["id"] for s in actives.json()["items"]] == [active["id"]]
        assert_problem(
            api.get("/stories", params={"status": "lost"}, headers=owner.headers),
            400,
            "invalidInput",
        )

    def test_a_teen_never_sees_a_mature_story_even_if_added_earlier(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        adult = create_user(server)
        teen = create_user(server, age_tier="teen")
        mature = new_story(api, adult, ageRating="mature")
        allowed = new_story(api, adult, ageRating="teen")
        for story in (mature, allowed):
            # As if invited before a rating change: a row the API would refuse today.
            execute(
                server,
                'INSERT INTO collaborators (story, "user", role, joined_at) VALUES (?, ?, ?, ?)',
                uuid.UUID(story["id"]),
                teen.id,
                "author",
                datetime.now(UTC),
            )
        library = api.get("/stories", headers=teen.headers).json()
        assert [s["id"] for s in library["items"]] == [allowed["id"]]
        for path in ("", "/segments", "/chat", "/collaborators"):
            assert_problem(
                api.get(f"/stories/{mature['id']}{path}", headers=teen.headers),
                404,
                "storyNotFound",
            )
        assert_problem(
            api.post(f"/stories/{mature['id']}/ws-ticket", headers=teen.headers),
            404,
            "storyNotFound",
        )

    @pytest.mark.parametrize(("tier", "rating"), [("child", "teen"), ("teen", "mature")])
    def test_nobody_creates_a_story_above_their_tier(
        self, server: ServerProcess, api: httpx.Client, tier: str, rating: str
    ) -> None:
        young = create_user(server, age_tier=tier)
        response = api.post(
            "/stories",
            json={"title": "T", "premise": "P", "ageRating": rating},
            headers=young.headers,
        )
        assert_problem(response, 403, "ageRestricted")
        assert story_count(server, young) == 0

    def test_a_minor_cannot_publish(self, server: ServerProcess, api: httpx.Client) -> None:
        child = create_user(server, age_tier="child")
        response = api.post(
            "/stories",
            json={"title": "T", "premise": "P", "ageRating": "allAges", "visibility": "public"},
            headers=child.headers,
        )
        assert_problem(response, 403, "ageRestricted")
        assert story_count(server, child) == 0
        assert new_story(api, child)["visibility"] == "private"


BAD_BODIES = [
    pytest.param({"premise": "P", "ageRating": "allAges"}, id="missing-title"),
    pytest.param({"title": "", "premise": "P", "ageRating": "allAges"}, id="empty-title"),
    pytest.param({"title": "   ", "premise": "P", "ageRating": "allAges"}, id="blank-title"),
    pytest.param({"title": "x" * 201, "premise": "P", "ageRating": "allAges"}, id="long-title"),
    pytest.param({"title": "T", "premise": "x" * 4001, "ageRating": "allAges"}, id="long-premise"),
    pytest.param({"title": "T", "premise": "P", "ageRating": "adultsOnly"}, id="bad-rating"),
    pytest.param({"title": "T", "premise": "P", "ageRating": "teen", "turnSeconds": 5}, id="turn"),
    pytest.param(
        {"title": "T", "premise": "P", "ageRating": "teen", "maxSegmentLength": 4001}, id="length"
    ),
    pytest.param({"title": "T", "premise": "P", "ageRating": "teen", "owner": "x"}, id="unknown"),
    pytest.param({"title": 7, "premise": "P", "ageRating": "teen"}, id="wrong-type"),
    pytest.param(["not", "an", "object"], id="array"),
]


class TestBadInput:
    @pytest.mark.parametrize("body", BAD_BODIES)
    def test_bad_story_bodies_are_refused_and_write_nothing(
        self, server: ServerProcess, api: httpx.Client, body: Any
    ) -> None:
        owner = create_user(server)
        response = api.post("/stories", json=body, headers=owner.headers)
        assert_problem(response, 400, "invalidInput")
        assert story_count(server, owner) == 0

    def test_malformed_json_is_refused(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        response = api.post(
            "/stories",
            content=b'{"title": ',
            headers={**owner.headers, "content-type": "application/json"},
        )
        assert_problem(response, 400, "invalidInput")
        assert story_count(server, owner) == 0

    def test_bad_patches_change_nothing(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        story = new_story(api, owner)
        url = f"/stories/{story['id']}"
        for body in (
            {"title": None},
            {"title": ""},
            {"turnSeconds": 3601},
            {"creatorId": str(uuid.uuid4())},
            {"status": "completed"},
            {"title": "ok", "turnSeconds": 0},
        ):
            assert_problem(api.patch(url, json=body, headers=owner.headers), 400, "invalidInput")
        assert api.get(url, headers=owner.headers).json() == story

    def test_bad_paging_parameters(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        story = new_story(api, owner)
        base = f"/stories/{story['id']}"
        for path, params in (
            ("/segments", {"limit": 0}),
            ("/segments", {"limit": 501}),
            ("/segments", {"afterSeq": -1}),
            ("/segments", {"afterSeq": "x"}),
            ("/chat", {"afterId": -1}),
        ):
            assert_problem(
                api.get(base + path, params=params, headers=owner.headers), 400, "invalidInput"
            )
        assert_problem(
            api.get("/stories", params={"cursor": "abc"}, headers=owner.headers),
            400,
            "invalidCursor",
        )
        assert_problem(
            api.get("/stories", params={"limit": 101}, headers=owner.headers), 400, "invalidInput"
        )

    def test_a_malformed_story_id_is_not_found(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner = create_user(server)
        response = api.get("/stories/not-a-uuid", headers=owner.headers)
        assert response.status_code in (400, 404)
        assert response.headers["content-type"].startswith("application/problem+json")

    def test_without_a_token_every_route_is_401(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        assert_problem(api.get("/stories"), 401, "unauthenticated")
        assert_problem(api.get(f"/stories/{uuid.uuid4()}/segments"), 401, "unauthenticated")

    def test_an_account_waiting_for_consent_cannot_create(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        child = create_user(server, age_tier="child", status="pendingConsent")
        response = api.post(
            "/stories",
            json={"title": "T", "premise": "P", "ageRating": "allAges"},
            headers=child.headers,
        )
        assert_problem(response, 403, "consentRequired")
        assert story_count(server, child) == 0


class TestCollaborators:
    def test_invite_by_id_and_by_email(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server, display_name="Olive")
        by_id = create_user(server, age_tier="teen", display_name="Ian")
        by_email = create_user(server, display_name="Emma")
        story = new_story(api, owner, ageRating="teen")

        first = invite(api, owner, story["id"], "author", userId=str(by_id.id))
        assert first.status_code == 201, first.text
        assert first.json()["userId"] == str(by_id.id)
        assert first.json()["displayName"] == "Ian"
        assert first.json()["role"] == "author"
        second = invite(api, owner, story["id"], "viewer", email=by_email.email.upper())
        assert second.status_code == 201, second.text
        assert second.json()["userId"] == str(by_email.id)

        assert api.get(f"/stories/{story['id']}", headers=by_id.headers).json()["role"] == "author"
        assert [s["id"] for s in api.get("/stories", headers=by_email.headers).json()["items"]] == [
            story["id"]
        ]
        listed = api.get(f"/stories/{story['id']}/collaborators", headers=by_id.headers)
        assert listed.status_code == 200
        items = listed.json()["items"]
        assert [(c["displayName"], c["role"]) for c in items] == [
            ("Olive", "owner"),
            ("Ian", "author"),
            ("Emma", "viewer"),
        ]
        # Nobody's email (or age) is ever shown to others.
        assert "@" not in listed.text
        assert all(set(c) == {"userId", "displayName", "role", "joinedAt"} for c in items)

    def test_inviting_twice_conflicts(self, server: ServerProcess, api: httpx.Client) -> None:
        owner, friend = create_user(server), create_user(server)
        story = new_story(api, owner)
        assert invite(api, owner, story["id"], userId=str(friend.id)).status_code == 201
        assert_problem(
            invite(api, owner, story["id"], "viewer", userId=str(friend.id)),
            409,
            "alreadyCollaborator",
        )

    def test_a_child_cannot_be_invited_to_a_teen_story(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner, child = create_user(server), create_user(server, age_tier="child")
        story = new_story(api, owner, ageRating="teen")
        assert_problem(invite(api, owner, story["id"], userId=str(child.id)), 403, "ageRestricted")
        assert_problem(invite(api, owner, story["id"], email=child.email), 403, "ageRestricted")
        rows = execute(server, 'SELECT count(*) FROM collaborators WHERE "user" = ?', child.id)
        assert rows[0][0] == 0
        assert_problem(
            api.get(f"/stories/{story['id']}", headers=child.headers), 404, "storyNotFound"
        )

    def test_unknown_invitees_are_not_found(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        story = new_story(api, owner)
        assert_problem(
            invite(api, owner, story["id"], userId=str(uuid.uuid4())), 404, "userNotFound"
        )
        assert_problem(
            invite(api, owner, story["id"], email="nobody@example.test"), 404, "userNotFound"
        )
        pending = create_user(server, age_tier="child", status="pendingConsent")
        assert_problem(invite(api, owner, story["id"], userId=str(pending.id)), 404, "userNotFound")

    def test_invite_needs_exactly_one_of_user_id_and_email(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner, friend = create_user(server), create_user(server)
        story = new_story(api, owner)
        both = invite(api, owner, story["id"], userId=str(friend.id), email=friend.email)
        assert_problem(both, 400, "invalidInput")
        assert_problem(invite(api, owner, story["id"]), 400, "invalidInput")
        assert_problem(
            invite(api, owner, story["id"], "owner", userId=str(friend.id)), 400, "invalidInput"
        )

    def test_who_may_invite_whom(self, server: ServerProcess, api: httpx.Client) -> None:
        owner, editor, author, viewer, newcomer = (create_user(server) for _ in range(5))
        story = new_story(api, owner)
        sid = story["id"]
        assert invite(api, owner, sid, "editor", userId=str(editor.id)).status_code == 201
        assert invite(api, editor, sid, "author", userId=str(author.id)).status_code == 201
        assert invite(api, editor, sid, "viewer", userId=str(viewer.id)).status_code == 201
        assert_problem(
            invite(api, editor, sid, "editor", userId=str(newcomer.id)), 403, "notAllowed"
        )
        assert_problem(
            invite(api, author, sid, "viewer", userId=str(newcomer.id)), 403, "notAllowed"
        )
        # A viewer learns nothing about whether an email has an account.
        assert_problem(
            invite(api, viewer, sid, "viewer", email="nobody@example.test"), 403, "notAllowed"
        )

    def test_roles_change_and_people_leave(self, server: ServerProcess, api: httpx.Client) -> None:
        owner, friend, other = create_user(server), create_user(server), create_user(server)
        story = new_story(api, owner)
        sid = story["id"]
        invite(api, owner, sid, "viewer", userId=str(friend.id))
        invite(api, owner, sid, "author", userId=str(other.id))

        changed = api.patch(
            f"/stories/{sid}/collaborators/{friend.id}",
            json={"role": "editor"},
            headers=owner.headers,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["role"] == "editor"
        assert api.get(f"/stories/{sid}", headers=friend.headers).json()["role"] == "editor"
        assert_logged(server, "collaborator changed", sid)

        # Only the owner changes roles; the owner's own role is fixed.
        assert_problem(
            api.patch(
                f"/stories/{sid}/collaborators/{other.id}",
                json={"role": "viewer"},
                headers=friend.headers,
            ),
            403,
            "notAllowed",
        )
        assert_problem(
            api.patch(
                f"/stories/{sid}/collaborators/{owner.id}",
                json={"role": "viewer"},
                headers=owner.headers,
            ),
            403,
            "ownerRoleFixed",
        )
        assert_problem(
            api.patch(
                f"/stories/{sid}/collaborators/{uuid.uuid4()}",
                json={"role": "viewer"},
                headers=owner.headers,
            ),
            404,
            "collaboratorNotFound",
        )

        # Others cannot remove people; anyone but the owner may leave.
        assert_problem(
            api.delete(f"/stories/{sid}/collaborators/{other.id}", headers=friend.headers),
            403,
            "notAllowed",
        )
        assert_problem(
            api.delete(f"/stories/{sid}/collaborators/{owner.id}", headers=owner.headers),
            403,
            "ownerCannotLeave",
        )
        assert (
            api.delete(
                f"/stories/{sid}/collaborators/{friend.id}", headers=friend.headers
            ).status_code
            == 204
        )
        assert (
            api.delete(
                f"/stories/{sid}/collaborators/{other.id}", headers=owner.headers
            ).status_code
            == 204
        )
        for gone in (friend, other):
            assert_problem(api.get(f"/stories/{sid}", headers=gone.headers), 404, "storyNotFound")
        assert [
            c["userId"]
            for c in api.get(f"/stories/{sid}/collaborators", headers=owner.headers).json()["items"]
        ] == [str(owner.id)]


class TestUpdate:
    def test_the_owner_updates_settings(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        story = new_story(api, owner)
        response = api.patch(
            f"/stories/{story['id']}",
            json={
                "title": " New title ",
                "turnSeconds": 300,
                "aiNarrator": True,
                "ageRating": "mature",
            },
            headers=owner.headers,
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["title"] == "New title"
        assert updated["turnSeconds"] == 300
        assert updated["aiNarrator"] is True
        assert updated["maxSegmentLength"] == story["maxSegmentLength"]
        assert updated["ageRating"] == "mature"
        assert updated["premise"] == story["premise"]
        assert api.get(f"/stories/{story['id']}", headers=owner.headers).json() == updated

    def test_viewers_authors_and_editors_cannot_patch(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner = create_user(server)
        story = new_story(api, owner)
        for role in ("viewer", "author", "editor"):
            member = create_user(server)
            assert invite(api, owner, story["id"], role, userId=str(member.id)).status_code == 201
            assert_problem(
                api.patch(
                    f"/stories/{story['id']}", json={"title": "Mine"}, headers=member.headers
                ),
                403,
                "notAllowed",
            )
        assert (
            api.get(f"/stories/{story['id']}", headers=owner.headers).json()["title"]
            == story["title"]
        )

    def test_rating_cannot_rise_above_a_collaborator(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner, child = create_user(server), create_user(server, age_tier="child")
        story = new_story(api, owner)
        assert invite(api, owner, story["id"], userId=str(child.id)).status_code == 201
        response = api.patch(
            f"/stories/{story['id']}",
            json={"ageRating": "teen", "title": "Darker"},
            headers=owner.headers,
        )
        assert_problem(response, 409, "ageRatingConflict")
        after = api.get(f"/stories/{story['id']}", headers=owner.headers).json()
        assert after["ageRating"] == "allAges"
        assert after["title"] == story["title"]


class TestNonCollaborators:
    def test_every_story_route_is_404_for_a_stranger(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner, stranger, friend = create_user(server), create_user(server), create_user(server)
        story = new_story(api, owner)
        sid = story["id"]
        invite(api, owner, sid, "author", userId=str(friend.id))
        h = stranger.headers
        calls = [
            api.get(f"/stories/{sid}", headers=h),
            api.patch(f"/stories/{sid}", json={"title": "Mine"}, headers=h),
            api.get(f"/stories/{sid}/collaborators", headers=h),
            api.post(
                f"/stories/{sid}/collaborators",
                json={"role": "author", "userId": str(stranger.id)},
                headers=h,
            ),
            api.patch(
                f"/stories/{sid}/collaborators/{friend.id}", json={"role": "viewer"}, headers=h
            ),
            api.delete(f"/stories/{sid}/collaborators/{friend.id}", headers=h),
            api.get(f"/stories/{sid}/segments", headers=h),
            api.get(f"/stories/{sid}/chat", headers=h),
            api.post(f"/stories/{sid}/ws-ticket", headers=h),
        ]
        for response in calls:
            assert_problem(response, 404, "storyNotFound")
        # The same answer as for a story that does not exist at all.
        missing = api.get(f"/stories/{uuid.uuid4()}", headers=h)
        assert_problem(missing, 404, "storyNotFound")
        assert missing.json()["detail"] == calls[0].json()["detail"]
        assert api.get(f"/stories/{sid}", headers=owner.headers).json()["title"] == story["title"]
        assert (
            len(api.get(f"/stories/{sid}/collaborators", headers=owner.headers).json()["items"])
            == 2
        )


def insert_segments(server: ServerProcess, story_id: str, authors: list[uuid.UUID | None]) -> None:
    start = datetime.now(UTC)
    for seq, author in enumerate(authors, start=1):
        execute(
            server,
            "INSERT INTO segments (story, seq, author, content, client_msg_id, image_url,"
            " visual_effects, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            uuid.UUID(story_id),
            seq,
            author,
            f"Segment number {seq}.",
            None if author is None else f"m{seq}",
            f"https://img.example/{seq}.png" if seq == 2 else None,
            '{"effect": "rain"}' if seq == 2 else None,
            start + timedelta(milliseconds=seq),
        )


class TestSegmentsAndChat:
    def test_segments_page_in_order(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server, display_name="Olive")
        viewer = create_user(server)
        story = new_story(api, owner)
        invite(api, owner, story["id"], "viewer", userId=str(viewer.id))
        insert_segments(
            server, story["id"], [owner.id, None, owner.id, None, owner.id, owner.id, None]
        )
        url = f"/stories/{story['id']}/segments"

        first = api.get(url, params={"limit": 3}, headers=viewer.headers).json()
        assert [s["seq"] for s in first["items"]] == [1, 2, 3]
        assert first["nextAfterSeq"] == 3
        one, two = first["items"][0], first["items"][1]
        assert one["authorId"] == str(owner.id)
        assert one["authorName"] == "Olive"
        assert one["content"] == "Segment number 1."
        assert two["authorId"] is None
        assert two["authorName"] == "Narrator"
        assert two["imageUrl"] == "https://img.example/2.png"
        assert two["visualEffects"] == {"effect": "rain"}
        assert two["audioUrl"] is None
        assert two["videoUrl"] is None

        second = api.get(url, params={"afterSeq": 3, "limit": 3}, headers=viewer.headers).json()
        assert [s["seq"] for s in second["items"]] == [4, 5, 6]
        third = api.get(url, params={"afterSeq": 6, "limit": 3}, headers=viewer.headers).json()
        assert [s["seq"] for s in third["items"]] == [7]
        assert third["nextAfterSeq"] is None
        everything = api.get(url, headers=viewer.headers).json()
        assert [s["seq"] for s in everything["items"]] == list(range(1, 8))
        assert everything["nextAfterSeq"] is None
        beyond = api.get(url, params={"afterSeq": 7}, headers=viewer.headers).json()
        assert beyond == {"items": [], "nextAfterSeq": None}

    def test_segments_of_one_story_never_leak_into_another(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner = create_user(server)
        first, second = new_story(api, owner), new_story(api, owner)
        insert_segments(server, first["id"], [owner.id, owner.id])
        items = api.get(f"/stories/{second['id']}/segments", headers=owner.headers).json()["items"]
        assert items == []

    def test_chat_pages_in_order(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server, display_name="Olive")
        story = new_story(api, owner)
        for n in range(4):
            execute(
                server,
                "INSERT INTO chat_messages (story, author, content, client_msg_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                uuid.UUID(story["id"]),
                owner.id,
                f"hello {n}",
                f"c{n}",
                datetime.now(UTC),
            )
        url = f"/stories/{story['id']}/chat"
        first = api.get(url, params={"limit": 3}, headers=owner.headers).json()
        assert [m["content"] for m in first["items"]] == ["hello 0", "hello 1", "hello 2"]
        assert first["items"][0]["authorName"] == "Olive"
        rest = api.get(url, params={"afterId": first["nextAfterId"]}, headers=owner.headers).json()
        assert [m["content"] for m in rest["items"]] == ["hello 3"]
        assert rest["nextAfterId"] is None


async def _redeem_in_valkey(url: str, ticket: str, story_id: uuid.UUID) -> uuid.UUID | None:
    from storyhub.lib.kv import open_valkey
    from storyhub.stories.tickets import ValkeyTicketBook, redeem_ticket

    client = open_valkey(url)
    try:
        return await redeem_ticket(ValkeyTicketBook(client), ticket, story_id)
    finally:
        await client.aclose()


async def _ttl_in_valkey(url: str, ticket: str) -> int:
    from storyhub.lib.crypto import token_hash
    from storyhub.lib.kv import open_valkey
    from storyhub.stories.tickets import KEY_PREFIX

    client = open_valkey(url)
    try:
        return int(await client.ttl(KEY_PREFIX + token_hash(ticket)))
    finally:
        await client.aclose()


def ticket_ttl_on_server(server: ServerProcess, ticket: str) -> int:
    """Seconds the server's Valkey keeps the ticket (-2: no such key)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(
            asyncio.run, _ttl_in_valkey(server.env["STORYHUB_VALKEY_URL"], ticket)
        ).result(timeout=15)


def redeem_on_server(server: ServerProcess, ticket: str, story_id: uuid.UUID) -> uuid.UUID | None:
    """Redeem as the gateway would, against the server's own Valkey."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(
            asyncio.run, _redeem_in_valkey(server.env["STORYHUB_VALKEY_URL"], ticket, story_id)
        ).result(timeout=15)


class TestWsTicket:
    def test_collaborators_get_a_short_lived_ticket(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner, viewer = create_user(server), create_user(server)
        story = new_story(api, owner)
        invite(api, owner, story["id"], "viewer", userId=str(viewer.id))
        tickets = set()
        for user in (owner, viewer, owner):
            response = api.post(f"/stories/{story['id']}/ws-ticket", headers=user.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"ticket", "expiresIn"}
            assert 0 < body["expiresIn"] <= 60
            assert len(body["ticket"]) >= 32
            tickets.add(body["ticket"])
        assert len(tickets) == 3

    def test_a_ticket_redeems_once_in_services_mode(self, services_server: ServerProcess) -> None:
        server = services_server
        owner = create_user(server)
        with httpx.Client(base_url=server.base_url, timeout=15) as api:
            story = new_story(api, owner)
            ticket = api.post(f"/stories/{story['id']}/ws-ticket", headers=owner.headers).json()[
                "ticket"
            ]
        story_id = uuid.UUID(story["id"])
        assert redeem_on_server(server, ticket, uuid.uuid4()) is None
        assert redeem_on_server(server, ticket, story_id) is None  # the wrong story spent it
        with httpx.Client(base_url=server.base_url, timeout=15) as api:
            ticket = api.post(f"/stories/{story['id']}/ws-ticket", headers=owner.headers).json()[
                "ticket"
            ]
        assert 0 < ticket_ttl_on_server(server, ticket) <= 60
        assert redeem_on_server(server, ticket, story_id) == owner.id
        assert redeem_on_server(server, ticket, story_id) is None
        assert ticket_ttl_on_server(server, ticket) == -2  # gone, not merely expired later


async def _open_with_ticket(ws_url: str, story_id: str, ticket: str) -> int:
    """Open the story's WebSocket with ``?ticket=``: 101 if accepted, else the HTTP status."""
    import websockets

    try:
        async with websockets.connect(
            f"{ws_url}/ws/stories/{story_id}?ticket={ticket}", open_timeout=10
        ):
            return 101
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)


class TestWsTicketAtTheGateway:
    async def test_a_ticket_opens_the_socket_once(self, server: ServerProcess) -> None:
        owner = create_user(server)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as api:
            created = await api.post(
                "/stories",
                json={"title": "T", "premise": "P", "ageRating": "allAges"},
                headers=owner.headers,
            )
            story_id = created.json()["id"]
            issued = await api.post(f"/stories/{story_id}/ws-ticket", headers=owner.headers)
        ticket = issued.json()["ticket"]
        assert await asyncio.wait_for(_open_with_ticket(server.ws_url, story_id, ticket), 15) == 101
        assert await asyncio.wait_for(_open_with_ticket(server.ws_url, story_id, ticket), 15) == 401
