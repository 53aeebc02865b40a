"""A story's title and premise pass the safety filter, against a real server in both modes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import TestUser, create_user

EMAIL = "mia.rose@example.com"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client


def post_story(api: httpx.Client, owner: TestUser, **fields: Any) -> httpx.Response:
    body = {"title": "The Lighthouse", "premise": "A keeper finds a door.", "ageRating": "allAges"}
    body.update(fields)
    return api.post("/stories", json=body, headers=owner.headers)


def blocked(response: httpx.Response) -> list[str]:
    """The categories of a ``422 contentBlocked`` problem."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == "contentBlocked"
    categories: list[str] = body["categories"]
    return categories


def stories_of(server: ServerProcess, user: TestUser) -> list[tuple[Any, ...]]:
    return execute(server, "SELECT title, premise FROM stories WHERE creator = ?", user.id)


def queued(server: ServerProcess, user: TestUser) -> list[tuple[Any, ...]]:
    """(source, story) of the moderation items ``user`` wrote."""
    rows = execute(server, "SELECT source, story FROM moderation_items WHERE author = ?", user.id)
    return sorted((source, None if story is None else str(story)) for source, story in rows)


def story_row(server: ServerProcess, story_id: uuid.UUID) -> tuple[Any, ...]:
    (row,) = execute(server, "SELECT title, premise FROM stories WHERE id = ?", story_id)
    return row


class TestCreate:
    def test_blocked_title_or_premise_stores_nothing(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        adult = create_user(server)
        assert blocked(post_story(api, adult, title="How to kill yourself")) == ["selfHarm"]
        assert "drugs" in blocked(post_story(api, adult, premise="They sell cocaine at school."))
        assert stories_of(server, adult) == []
        assert queued(server, adult) == [("premise", None), ("title", None)]

        clean = post_story(api, adult)
        assert clean.status_code == 201, clean.text
        assert (clean.json()["title"], clean.json()["premise"]) == (
            "The Lighthouse",
            "A keeper finds a door.",
        )

    def test_level_is_the_rating_lowered_to_the_creators_tier(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        adult = create_user(server)
        mature = post_story(api, adult, title="The fucking storm", ageRating="mature")
        assert mature.status_code == 201, mature.text
        assert mature.json()["title"] == "The fucking storm"
        assert "profanity" in blocked(post_story(api, adult, title="The fucking storm"))

        child = create_user(server, age_tier="child")
        made = post_story(api, child, premise=f"Write to {EMAIL} for the map.")
        assert made.status_code == 201, made.text
        assert made.json()["premise"] == "Write to [redacted] for the map."
        assert stories_of(server, child) == [("The Lighthouse", "Write to [redacted] for the map.")]


class TestUpdate:
    def test_blocked_patch_changes_nothing_and_clean_one_applies(
        self, server: ServerProcess, api: httpx.Client
    ) -> None:
        owner = create_user(server)
        child = create_user(server, age_tier="child")
        story = create_story(server, owner, [(child, "author")], title="The Lighthouse")
        path = f"/stories/{story}"

        refused = api.patch(path, json={"title": "How to kill yourself"}, headers=owner.headers)
        assert blocked(refused) == ["selfHarm"]
        rude = api.patch(path, json={"premise": "A fucking storm."}, headers=owner.headers)
        assert "profanity" in blocked(rude)
        assert story_row(server, story) == ("The Lighthouse", "Once upon a time.")
        assert queued(server, owner) == [("premise", str(story)), ("title", str(story))]

        changed = api.patch(
            path,
            json={"title": "The Bright Harbour", "premise": f"Mail {EMAIL} at dawn."},
            headers=owner.headers,
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["title"], changed.json()["premise"]) == (
            "The Bright Harbour",
            "Mail [redacted] at dawn.",
        )
        assert story_row(server, story) == ("The Bright Harbour", "Mail [redacted] at dawn.")

        # The same words are fine in a mature story among adults.
        adults = create_story(server, owner, age_rating="mature")
        mature = api.patch(
            f"/stories/{adults}", json={"premise": "A fucking storm."}, headers=owner.headers
        )
        assert mature.status_code == 200, mature.text
        assert story_row(server, adults) == ("A test story", "A fucking storm.")
