"""``storyhub admin create-user`` makes an account a running server accepts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import base_env, fresh_pg_database
from tests.support.cli import run_admin
from tests.support.server import ServerProcess

PASSWORD = "an admin passphrase"


def _process_env(settings: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **settings}
    env.pop("PICCOLO_CONF", None)
    return env


def _create_user(env: dict[str, str], *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return run_admin(env, "create-user", *args, stdin=stdin)


@pytest.fixture(params=["embedded", "services"])
def fresh_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Settings for an empty data dir (and an empty PostgreSQL database in services mode)."""
    env = base_env(tmp_path / "data")
    if request.param == "services":
        env["STORYHUB_DATABASE_URL"] = fresh_pg_database("cli")
    return env


def test_created_admin_can_log_in(fresh_env: dict[str, str], tmp_path: Path) -> None:
    env = _process_env(fresh_env)
    done = _create_user(
        env,
        "--email",
        "Root@Example.test",
        "--display-name",
        "Root",
        "--birth-date",
        "1980-02-29",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "root@example.test" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr

    again = _create_user(
        env,
        "--email",
        "root@example.test",
        "--display-name",
        "Root",
        "--birth-date",
        "1980-02-29",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert again.returncode == 1
    assert "emailTaken" in again.stderr

    short = _create_user(
        env,
        "--email",
        "other@example.test",
        "--display-name",
        "Other",
        "--birth-date",
        "1980-01-01",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1
    assert "passwordTooShort" in short.stderr

    server = ServerProcess(fresh_env, tmp_path / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=15) as client:
            login = client.post(
                "/auth/login", json={"email": "root@example.test", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            me = client.get(
                "/users/me", headers={"Authorization": f"Bearer {login.json()['accessToken']}"}
            )
            assert me.status_code == 200
            assert (me.json()["role"], me.json()["status"]) == ("admin", "active")
            refused = client.post(
                "/auth/login", json={"email": "other@example.test", "password": "short"}
            )
            assert refused.status_code == 401
    finally:
        server.stop()


def test_minors_cannot_be_admins(tmp_path: Path) -> None:
    env = _process_env(base_env(tmp_path / "data"))
    done = _create_user(
        env,
        "--email",
        "kid@example.test",
        "--display-name",
        "Kid",
        "--birth-date",
        "2015-01-01",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 1
    assert "roleNotAllowed" in done.stderr


def test_bad_birth_date_is_a_usage_error(tmp_path: Path) -> None:
    env = _process_env(base_env(tmp_path / "data"))
    done = _create_user(
        env,
        "--email",
        "a@example.test",
        "--display-name",
        "A",
        "--birth-date",
        "30.04.1990",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 2
    assert "1990-04-30" in done.stderr
