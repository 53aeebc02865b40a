"""Edge inputs over HTTP, against a real server in both modes: a 4xx with a code, never a 500.

Each case here was a server error once (found by running schemathesis against
the OpenAPI document): preflight ``OPTIONS`` on guarded routes, numbers past
what a column holds, a multipart upload without its file, and NUL characters,
which PostgreSQL cannot store.
"""

from __future__ import annotations

import uuid

import httpx

from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.stories import create_story
from tests.support.users import create_user


def _problem(answer: httpx.Response, status: int, code: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert answer.json()["code"] == code, answer.text


class TestEdgeInput:
    def test_preflight_on_guarded_routes_lists_the_methods(self, server: ServerProcess) -> None:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            for path in (
                f"/books/{uuid.uuid4()}",  # guarded: an active account
                "/moderation/items",  # guarded: a moderator's role
                f"/stories/{uuid.uuid4()}/segments",
            ):
                answer = http.options(path)
                assert answer.status_code == 204, (path, answer.text)
                assert "GET" in answer.headers["allow"]
            # The routes themselves still want a token.
            _problem(http.get("/moderation/items"), 401)

    def test_numbers_past_a_column_are_400(self, server: ServerProcess) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        with httpx.Client(base_url=server.base_url, timeout=10, headers=alice.headers) as http:
            for url in (
                f"/stories/{story}/segments?afterSeq={2**31}",
                f"/stories/{story}/chat?afterId={2**63}",
            ):
                _problem(http.get(url), 400, "invalidInput")
            _problem(
                http.post(f"/stories/{story}/segments/{2**31}/media", json={"kind": "image"}),
                400,
                "invalidInput",
            )
            assert http.get(f"/stories/{story}/segments?afterSeq={2**31 - 1}").status_code == 200

    def test_a_document_upload_without_the_file_is_400(self, server: ServerProcess) -> None:
        alice = create_user(server)
        with httpx.Client(base_url=server.base_url, timeout=10, headers=alice.headers) as http:
            url = f"/verifications/{uuid.uuid4()}/document"
            _problem(http.post(url, files={"other": ("x.png", b"\x89PNG", "image/png")}), 400)
            _problem(http.post(url, data={"data": "not a file"}), 400)

    def test_a_nul_in_any_json_text_is_refused_and_nothing_is_written(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        # Letters only: a run of digits would be redacted as a possible phone number.
        title = "Nul " + uuid.uuid4().hex[:8].translate(str.maketrans("0123456789", "ghijklmnop"))
        with httpx.Client(base_url=server.base_url, timeout=10, headers=alice.headers) as http:
            cases = [
                ("/stories", {"title": title + "\x00", "premise": "P", "ageRating": "allAges"}),
                (f"/stories/{story}/turns", {"clientMsgId": "n1", "text": "a\x00b"}),
                (f"/stories/{story}/memory", {"text": "\x00"}),
            ]
            for url, body in cases:
                answer = http.post(url, json=body)
                _problem(answer, 400, "nulCharacter")
                assert "NUL" in answer.json()["detail"]
            _problem(http.patch("/users/me", json={"preferences": {"k": "\x00"}}), 400)
            # An escaped backslash followed by the letters u0000 is ordinary text.
            fine = http.post(
                "/stories", json={"title": title, "premise": "\\u0000", "ageRating": "allAges"}
            )
            assert fine.status_code == 201, fine.text
            assert fine.json()["premise"] == "\\u0000"
        titles = execute(server, "SELECT title FROM stories WHERE title LIKE ?", "Nul %")
        assert [t for (t,) in titles if t.startswith(title)] == [title]
        assert execute(server, "SELECT count(*) FROM segments WHERE story = ?", story) == [(0,)]
