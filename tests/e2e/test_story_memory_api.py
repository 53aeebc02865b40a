"""Story memory and lore over REST against a real server, in embedded and services mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import TestUser, create_user


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


class Cast:
    """An owner, an author, a viewer and a stranger around one story."""

    def __init__(self, server: ServerProcess, **story: Any) -> None:
        self.owner = create_user(server, display_name="Owner")
        self.author = create_user(server, display_name="Author")
        self.viewer = create_user(server, display_name="Viewer")
        self.stranger = create_user(server, display_name="Stranger")
        self.story = create_story(
            server, self.owner, [(self.author, "author"), (self.viewer, "viewer")], **story
        )

    def path(self, tail: str) -> str:
        return f"/stories/{self.story}/{tail}"


def pin(api: httpx.Client, cast: Cast, who: TestUser, text: str) -> httpx.Response:
    return api.post(cast.path("memory"), json={"text": text}, headers=who.headers)


def add_lore(api: httpx.Client, cast: Cast, who: TestUser, **body: Any) -> httpx.Response:
    payload = {"name": "The Old Mill", "triggers": ["mill"], "text": "It grinds moonlight."}
    payload.update(body)
    return api.post(cast.path("lore"), json=payload, headers=who.headers)


class TestPinnedFacts:
    def test_writers_pin_everyone_reads_strangers_see_nothing(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        cast = Cast(server)
        first = pin(api, cast, cast.owner, "Mia is nine years old.")
        assert first.status_code == 201, first.text
        fact = first.json()
        assert set(fact) == {"id", "text", "position", "createdBy", "createdAt"}
        assert (fact["text"], fact["position"], fact["createdBy"]) == (
            "Mia is nine years old.",
            0,
            str(cast.owner.id),
        )
        second = pin(api, cast, cast.author, "  Pip is a small brown dog.  ")
        assert second.status_code == 201, second.text
        assert (second.json()["text"], second.json()["position"]) == (
            "Pip is a small brown dog.",
            1,
        )

        listed = api.get(cast.path("memory"), headers=cast.viewer.headers)
        assert listed.status_code == 200
        assert listed.json()["limit"] == 20
        assert [f["text"] for f in listed.json()["items"]] == [
            "Mia is nine years old.",
            "Pip is a small brown dog.",
        ]

        assert_problem(pin(api, cast, cast.viewer, "Viewers cannot pin."), 403, "notAllowed")
        gone = api.delete(cast.path(f"memory/{fact['id']}"), headers=cast.viewer.headers)
        assert_problem(gone, 403, "notAllowed")
        for request in (
            api.get(cast.path("memory"), headers=cast.stranger.headers),
            pin(api, cast, cast.stranger, "Strangers cannot pin."),
            api.delete(cast.path(f"memory/{fact['id']}"), headers=cast.stranger.headers),
        ):
            assert_problem(request, 404, "storyNotFound")

        deleted = api.delete(cast.path(f"memory/{fact['id']}"), headers=cast.author.headers)
        assert deleted.status_code == 204
        again = api.delete(cast.path(f"memory/{fact['id']}"), headers=cast.author.headers)
        assert_problem(again, 404, "factNotFound")
        listed = api.get(cast.path("memory"), headers=cast.owner.headers).json()["items"]
        assert [f["position"] for f in listed] == [1]

    def test_the_story_holds_at_most_twenty_facts(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        cast = Cast(server)
        for i in range(20):
            assert pin(api, cast, cast.owner, f"Fact {i}.").status_code == 201
        assert_problem(pin(api, cast, cast.owner, "One too many."), 409, "memoryFull")

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"text": "ok", "extra": 1}, "invalidInput"),
            ({"text": ""}, "invalidInput"),
            ({"text": "x" * 301}, "invalidInput"),
            ({"text": "   "}, "invalidInput"),
            ({}, "invalidInput"),
        ],
    )
    def test_bad_bodies_are_400_with_a_code(
        self, server: ServerProcess, api: httpx.Client, body: dict[str, Any], code: str
    ) -> None:
        cast = Cast(server)
        response = api.post(cast.path("memory"), json=body, headers=cast.owner.headers)
        assert_problem(response, 400, code)

    def test_unknown_story_is_404(self, server: ServerProcess, api: httpx.Client) -> None:
        owner = create_user(server)
        response = api.get(f"/stories/{uuid.uuid4()}/memory", headers=owner.headers)
        assert_problem(response, 404, "storyNotFound")


class TestLore:
    def test_writers_add_change_and_remove_entries(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        cast = Cast(server)
        created = add_lore(api, cast, cast.author, triggers=["  old  mill ", "Mill", "OLD MILL"])
        assert created.status_code == 201, created.text
        entry = created.json()
        assert set(entry) == {
            "id",
            "name",
            "triggers",
            "text",
            "createdBy",
            "createdAt",
            "updatedAt",
        }
        assert entry["triggers"] == ["old mill", "Mill"]
        assert entry["createdBy"] == str(cast.author.id)

        changed = api.patch(
            cast.path(f"lore/{entry['id']}"),
            json={"text": "It grinds starlight now."},
            headers=cast.owner.headers,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["text"] == "It grinds starlight now."
        assert changed.json()["name"] == "The Old Mill"
        assert changed.json()["updatedAt"] >= entry["updatedAt"]

        listed = api.get(cast.path("lore"), headers=cast.viewer.headers)
        assert listed.status_code == 200
        assert listed.json()["limit"] == 100
        assert [e["text"] for e in listed.json()["items"]] == ["It grinds starlight now."]

        duplicate = add_lore(api, cast, cast.owner, name="the old mill")
        assert_problem(duplicate, 409, "loreNameTaken")

        patch_path = cast.path(f"lore/{entry['id']}")
        assert_problem(
            api.patch(patch_path, json={"text": "No."}, headers=cast.viewer.headers),
            403,
            "notAllowed",
        )
        assert_problem(add_lore(api, cast, cast.viewer, name="Viewer lore"), 403, "notAllowed")
        for response in (
            api.get(cast.path("lore"), headers=cast.stranger.headers),
            api.patch(patch_path, json={"text": "No."}, headers=cast.stranger.headers),
            api.delete(patch_path, headers=cast.stranger.headers),
        ):
            assert_problem(response, 404, "storyNotFound")

        assert api.delete(patch_path, headers=cast.author.headers).status_code == 204
        assert_problem(
            api.patch(patch_path, json={"text": "Gone."}, headers=cast.owner.headers),
            404,
            "loreNotFound",
        )
        assert api.get(cast.path("lore"), headers=cast.owner.headers).json()["items"] == []

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"triggers": []}, "invalidInput"),
            ({"triggers": ["  "]}, "invalidTrigger"),
            ({"triggers": [f"t{i}" for i in range(11)]}, "invalidInput"),
            ({"triggers": ["x" * 41]}, "invalidInput"),
            ({"name": "x" * 81}, "invalidInput"),
            ({"text": "x" * 1001}, "invalidInput"),
            ({"colour": "red"}, "invalidInput"),
        ],
    )
    def test_bad_bodies_are_400_with_a_code(
        self, server: ServerProcess, api: httpx.Client, body: dict[str, Any], code: str
    ) -> None:
        cast = Cast(server)
        assert_problem(add_lore(api, cast, cast.owner, **body), 400, code)


class TestSafety:
    """A child reads this story: what goes into the prompt is filtered at allAges first."""

    def test_blocked_text_is_422_queued_and_not_stored(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        cast = Cast(server)
        kid = create_user(server, age_tier="child", display_name="Kid")
        execute(
            server,
            'INSERT INTO collaborators (story, "user", role, joined_at) VALUES (?, ?, ?, ?)',
            cast.story,
            kid.id,
            "author",
            datetime.now(UTC),
        )
        blocked = pin(api, cast, cast.owner, "What the fuck is in the cave?")
        body = assert_problem(blocked, 422, "contentBlocked")
        assert "profanity" in body["categories"]
        assert "fuck" not in body["detail"]
        lore = add_lore(api, cast, kid, text="The shit mill.")
        assert "profanity" in assert_problem(lore, 422, "contentBlocked")["categories"]

        assert api.get(cast.path("memory"), headers=kid.headers).json()["items"] == []
        assert api.get(cast.path("lore"), headers=kid.headers).json()["items"] == []
        rows = execute(
            server,
            "SELECT source, author FROM moderation_items WHERE story = ? ORDER BY created_at",
            cast.story,
        )
        assert [(str(r[0]), str(r[1])) for r in rows] == [
            ("memory", str(cast.owner.id)),
            ("lore", str(kid.id)),
        ]

        redacted = pin(api, cast, kid, "The wizard's phone is 07700 900123.")
        assert redacted.status_code == 201, redacted.text
        assert "900123" not in redacted.json()["text"]
