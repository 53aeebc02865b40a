"""The auth endpoints are rate limited per client, in both modes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import base_env, fresh_pg_database
from tests.support.server import ServerProcess


@pytest.fixture(params=["embedded", "services"])
def limited_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server allowing three auth requests per minute."""
    env = base_env(tmp_path / "data")
    env["STORYHUB_AUTH_RATE_LIMIT"] = "3"
    if request.param == "services":
        env["STORYHUB_DATABASE_URL"] = fresh_pg_database("ratelimit")
        # Counters live in Valkey keyed by client address: use a database the
        # session's shared services server (same Redis, same 127.0.0.1) does not.
        redis_url: str = request.getfixturevalue("redis_url")
        env["STORYHUB_VALKEY_URL"] = redis_url.rsplit("/", 1)[0] + "/7"
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


def test_fourth_login_in_a_minute_is_429_problem(limited_server: ServerProcess) -> None:
    with httpx.Client(base_url=limited_server.base_url, timeout=15) as client:
        body = {"email": "nobody@example.test", "password": "whatever-it-is"}
        for _ in range(3):
            assert client.post("/auth/login", json=body).status_code == 401
        limited = client.post("/auth/login", json=body)
        assert limited.status_code == 429, limited.text
        assert limited.headers["content-type"].startswith("application/problem+json")
        problem = limited.json()
        assert problem["code"] == "rateLimited"
        assert problem["status"] == 429
        # Only the auth endpoints are limited.
        assert client.get("/health/live").status_code == 200
