"""``bookProgress`` reaches the story's room while a book builds (both modes).

The requester is a collaborator, so the room is how they hear it too; here
another collaborator, connected over WebSocket, sees the owner's book go
from ``building`` to ``ready``.
"""

from __future__ import annotations

import httpx

from tests.e2e.test_books_api import BUILD_TIMEOUT, add_segments, books_server
from tests.support.server import ServerProcess
from tests.support.stories import create_story
from tests.support.users import create_user
from tests.support.wsclient import StoryClient

__all__ = ["books_server"]  # the fixture, shared with the books API tests


class TestBookProgress:
    async def test_room_hears_building_then_ready(self, books_server: ServerProcess) -> None:
        server = books_server
        owner = create_user(server)
        author = create_user(server)
        story = create_story(server, owner, [(author, "author")])
        add_segments(server, story, [owner, author])
        watcher = await StoryClient.open(server, story, author.token)
        try:
            assert (await watcher.join())["type"] == "ack"
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
                accepted = await http.post(
                    f"/stories/{story}/books", json={"format": "epub"}, headers=owner.headers
                )
                assert accepted.status_code == 202, accepted.text
                book_id = accepted.json()["bookId"]

            def about_book(status: str):
                return lambda e: (
                    e.get("type") == "bookProgress"
                    and e.get("bookId") == book_id
                    and e.get("status") == status
                )

            building = await watcher.until(about_book("building"), timeout=BUILD_TIMEOUT)
            ready = await watcher.until(about_book("ready"), timeout=BUILD_TIMEOUT)
            for event in (building, ready):
                assert event["format"] == "epub"
                assert event["requestedBy"] == str(owner.id)
                assert "error" not in event
        finally:
            await watcher.close()
