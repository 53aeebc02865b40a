"""Books over HTTP against a running server: build, poll, download, refuse.

Embedded mode builds in-process; services mode queues the build on Redis and
a real ``storyhub worker`` process (started here with the server's settings)
builds it. Only collaborators build and download; nobody else learns that
the story or the book exists.
"""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import TestUser, create_user
from tests.support.worker import WorkerProcess

BUILD_TIMEOUT = 90


@pytest.fixture(params=["embedded", "services"])
def books_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A running server that can build books: services mode gets a worker process."""
    server: ServerProcess = request.getfixturevalue(f"{request.param}_server")
    if request.param == "embedded":
        yield server
        return
    worker = WorkerProcess(server.env, tmp_path_factory.mktemp("books-worker") / "worker.log")
    worker.start()
    yield server
    worker.stop()


def add_segments(server: ServerProcess, story: uuid.UUID, authors: list[TestUser | None]) -> None:
    for seq, author in enumerate(authors, start=1):
        execute(
            server,
            "INSERT INTO segments (story, seq, author, content, created_at) VALUES (?, ?, ?, ?, ?)",
            story,
            seq,
            author.id if author else None,
            f"Part {seq}: the fox carried the lantern a little further.",
            datetime.now(UTC),
        )


def complete(server: ServerProcess, story: uuid.UUID) -> None:
    execute(
        server,
        "UPDATE stories SET status = 'completed', completed_at = ? WHERE id = ?",
        datetime.now(UTC),
        story,
    )


async def wait_ready(http: httpx.AsyncClient, book_id: str, user: TestUser) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + BUILD_TIMEOUT
    while True:
        answer = await http.get(f"/books/{book_id}", headers=user.headers)
        assert answer.status_code == 200, answer.text
        book: dict[str, Any] = answer.json()
        if book["status"] in ("ready", "failed"):
            return book
        assert asyncio.get_running_loop().time() < deadline, f"book still {book['status']}"
        await asyncio.sleep(0.3)


class TestBooksApi:
    async def test_collaborators_build_and_download_strangers_learn_nothing(
        self, books_server: ServerProcess
    ) -> None:
        server = books_server
        owner = create_user(server, display_name="Sam Rivera")
        child = create_user(server, age_tier="child", display_name="Emma Realchild")
        viewer = create_user(server)
        stranger = create_user(server)
        story = create_story(
            server, owner, [(child, "author"), (viewer, "viewer")], title="The Lantern Fox"
        )
        add_segments(server, story, [owner, child, None, child])
        complete(server, story)

        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            refused = await http.post(
                f"/stories/{story}/books", json={"format": "epub"}, headers=stranger.headers
            )
            assert refused.status_code == 404
            assert refused.json()["code"] == "storyNotFound"

            accepted = await http.post(
                f"/stories/{story}/books", json={"format": "epub"}, headers=viewer.headers
            )
            assert accepted.status_code == 202, accepted.text
            ids = accepted.json()
            assert set(ids) == {"bookId", "taskId"}

            book = await wait_ready(http, ids["bookId"], viewer)
            assert book["status"] == "ready", book
            assert book["format"] == "epub"
            assert book["draft"] is False
            assert book["downloadPath"] == f"/books/{ids['bookId']}/download"

            for headers in (stranger.headers, {}):
                hidden = await http.get(f"/books/{ids['bookId']}", headers=headers)
                assert hidden.status_code in (401, 404)
                blocked = await http.get(f"/books/{ids['bookId']}/download", headers=headers)
                assert blocked.status_code in (401, 404)
                assert blocked.headers["content-type"].startswith("application/problem+json")

            download = await http.get(book["downloadPath"], headers=child.headers)
            assert download.status_code == 200, download.text
            assert download.headers["content-type"].startswith("application/epub+zip")
            assert 'filename="The-Lantern-Fox.epub"' in download.headers["content-disposition"]
            assert len(download.content) == book["sizeBytes"]
            with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
                text = "".join(
                    archive.read(n).decode() for n in archive.namelist() if n.endswith(".xhtml")
                )
            assert "Realchild" not in text
            assert "— Sam Rivera" in text
            assert "— the narrator" in text

    async def test_unfinished_story_only_the_owner_builds_a_draft(
        self, books_server: ServerProcess, tmp_path: Path
    ) -> None:
        server = books_server
        owner = create_user(server)
        author = create_user(server)
        story = create_story(server, owner, [(author, "author")])
        add_segments(server, story, [owner, author])
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            url = f"/stories/{story}/books"
            refused = await http.post(url, json={"format": "pdf"}, headers=author.headers)
            assert refused.status_code == 409
            assert refused.json()["code"] == "storyNotCompleted"
            bad_bodies: list[dict[str, Any]] = [
                {"format": "mobi"},
                {"format": "epub", "pageSize": "A5"},
                {"format": "pdf", "pageSize": "A4"},
                {"format": "pdf", "extra": 1},
            ]
            for body in bad_bodies:
                bad = await http.post(url, json=body, headers=owner.headers)
                assert bad.status_code == 400, (body, bad.text)
                assert bad.headers["content-type"].startswith("application/problem+json")

            accepted = await http.post(
                url, json={"format": "pdf", "pageSize": "letter"}, headers=owner.headers
            )
            assert accepted.status_code == 202, accepted.text
            book = await wait_ready(http, accepted.json()["bookId"], owner)
            assert (book["status"], book["draft"], book["pageSize"]) == ("ready", True, "letter")
            download = await http.get(book["downloadPath"], headers=author.headers)
            assert download.status_code == 200
            assert download.content.startswith(b"%PDF-")
            assert "-draft.pdf" in download.headers["content-disposition"]
        rows = execute(server, "SELECT count(*) FROM digital_books WHERE story = ?", story)
        assert int(rows[0][0]) == 1  # refused and invalid requests wrote nothing
