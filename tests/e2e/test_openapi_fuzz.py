"""Every HTTP route, fuzzed from the OpenAPI document by schemathesis: never a 5xx.

schemathesis reads ``/schema/openapi.json`` from a real server and sends
requests the schema allows and requests it does not (wrong types, missing
fields, odd strings, big numbers), then stateful sequences that follow
links between operations. The only check is ``not_a_server_error``: bad
input must get a 4xx with a code (the other tests pin which one). A run of
this (about 4,800 requests per mode) found the server errors that
``test_http_edges.py`` now pins.

Each mode gets a server of its own with a fresh database (and, in services
mode, its own Redis database index), so that the fuzzer's accounts, stories
and rate-limit counters never meet the other end-to-end tests. The seed is
fixed: a failure reproduces with the same command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import base_env, fresh_pg_database
from tests.support.families import register_family
from tests.support.server import ServerProcess
from tests.support.stories import create_story
from tests.support.users import TestUser

SEED = "20261207"
EXAMPLES = "20"
# Password changes and logouts would sign the fuzzing account out half-way.
EXCLUDED = "/auth/logout|/users/me/password"


@pytest.fixture(scope="module", params=["embedded", "services"])
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = base_env(tmp_path_factory.mktemp(f"fuzz-{request.param}"))
    env["STORYHUB_AUTH_RATE_LIMIT"] = "100000"
    if request.param == "services":
        redis_url: str = request.getfixturevalue("redis_url")
        env["STORYHUB_DATABASE_URL"] = fresh_pg_database("fuzz")
        env["STORYHUB_VALKEY_URL"] = redis_url.rsplit("/", 1)[0] + "/11"
    server = ServerProcess(env, tmp_path_factory.mktemp("logs") / f"fuzz-{request.param}.log")
    server.start()
    yield server
    server.stop()


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is not installed (it is in the test extra)", pytrace=False)
    return found


def test_no_request_gets_a_server_error(fuzz_server: ServerProcess, tmp_path: Path) -> None:
    # The fuzzing account is a parent with a linked child and a story of its
    # own, so that the parent and story routes get past 404 into their real
    # checks (the ids go to schemathesis.toml in its working directory).
    with httpx.Client(base_url=fuzz_server.base_url, timeout=15) as http:
        family = register_family(http, ["participate"])
        me = http.get("/users/me", headers=family.parent).json()
    parent = TestUser(
        id=uuid.UUID(me["id"]),
        email=me["email"],
        token=family.parent["Authorization"].removeprefix("Bearer "),
        display_name=me["displayName"],
    )
    story = create_story(fuzz_server, parent)
    (tmp_path / "schemathesis.toml").write_text(
        f'[parameters]\n"path.story_id" = "{story}"\n"path.child_id" = "{family.child["id"]}"\n'
    )
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [
            _schemathesis(),
            "run",
            f"{fuzz_server.base_url}/schema/openapi.json",
            "--header",
            f"Authorization: Bearer {parent.token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
            "--generation-deterministic",
            "--exclude-path-regex",
            EXCLUDED,
            "--request-timeout",
            "20",
            "--report-dir",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    summary = done.stdout[-6000:]
    assert done.returncode == 0, f"{summary}\n{done.stderr[-2000:]}\n{fuzz_server.tail()}"
    assert " passed" in summary, summary
    assert "Server error" not in summary, summary
