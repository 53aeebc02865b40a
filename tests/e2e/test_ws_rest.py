"""The REST doors into the session actor answer bad input with problem details."""

from __future__ import annotations

import uuid

import httpx

from tests.support.server import ServerProcess
from tests.support.stories import create_story, segments
from tests.support.users import create_user


class TestTurnsOverRest:
    async def test_bad_requests_are_4xx_problems_and_write_nothing(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        viewer = create_user(server)
        stranger = create_user(server)
        story = create_story(server, alice, [(viewer, "viewer")], settings={"maxSegmentLength": 10})
        url = f"/stories/{story}/turns"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            cases = [
                (alice.headers, {"clientMsgId": "a"}, 400, None),
                (alice.headers, {"clientMsgId": "a", "text": "x", "more": 1}, 400, None),
                (alice.headers, {"clientMsgId": "", "text": "x"}, 400, None),
                (alice.headers, {"clientMsgId": "a", "text": "much too long"}, 400, "textTooLong"),
                (viewer.headers, {"clientMsgId": "a", "text": "x"}, 403, "forbidden"),
                (stranger.headers, {"clientMsgId": "a", "text": "x"}, 404, "notFound"),
                ({}, {"clientMsgId": "a", "text": "x"}, 401, None),
            ]
            for headers, body, status, code in cases:
                answer = await http.post(url, json=body, headers=headers)
                assert answer.status_code == status, (body, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                if code is not None:
                    assert answer.json()["code"] == code
            garbage = await http.post(
                url,
                content=b"{not json",
                headers={**alice.headers, "content-type": "application/json"},
            )
            assert garbage.status_code == 400
            missing = await http.post(
                f"/stories/{uuid.uuid4()}/turns",
                json={"clientMsgId": "a", "text": "x"},
                headers=alice.headers,
            )
            assert missing.status_code == 404
            ok = await http.post(
                url, json={"clientMsgId": "a", "text": "fine"}, headers=alice.headers
            )
            assert ok.status_code == 201
            assert ok.json() == {"storyId": str(story), "seq": 1, "clientMsgId": "a"}
        assert segments(server, story) == [(1, "fine", "a")]
