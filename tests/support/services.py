"""Where the real PostgreSQL and Redis for tests live, and what to do when absent.

With ``CI=true`` a missing service fails the test; elsewhere it skips, so a
laptop without PostgreSQL can still run the unit and embedded tests.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "STORYHUB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("STORYHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def worker_id() -> str:
    """The pytest-xdist worker name (``gw0``...) or ``main``."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    wid = worker_id()
    return int(wid.removeprefix("gw")) if wid.startswith("gw") else 0


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def require(name: str, url: str, default_port: int) -> None:
    """Fail (CI) or skip (elsewhere) when the service at ``url`` does not answer."""
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


def require_postgres() -> None:
    require("PostgreSQL", PG_ADMIN_URL, 5432)


def require_redis() -> None:
    require("Redis", REDIS_URL, 6379)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
