"""Shared fixtures: real PostgreSQL/Redis per xdist worker, real server processes.

Unit tests need none of this. Integration tests get a migrated database on
each engine through ``db``; end-to-end tests get a running ``storyhub serve``
in embedded mode (SQLite, in-process) or services mode (PostgreSQL + Redis).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PICCOLO_CONF", "storyhub.piccolo_conf")

from tests.support.server import ServerProcess
from tests.support.services import (
    PG_ADMIN_URL,
    free_port,
    require_postgres,
    require_redis,
    worker_id,
)

TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def _pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def _recreate_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def pytest_configure(config: pytest.Config) -> None:
    # One id per pytest run, inherited by xdist workers, so that concurrent
    # runs on one machine never share a database or a Redis server.
    os.environ.setdefault("STORYHUB_TEST_RUN_ID", uuid.uuid4().hex[:8])


_created_databases: list[str] = []


def fresh_pg_database(suffix: str) -> str:
    """Create a database private to this run and xdist worker; return its URL."""
    require_postgres()
    name = f"storyhub_t_{os.environ['STORYHUB_TEST_RUN_ID']}_{worker_id()}_{suffix}"
    _created_databases.append(name)
    # Fixtures may be resolved inside the session's running loop: use a thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _recreate_pg_database(name)).result()
    return _pg_url(name)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server private to this run and worker.

    The machine's Redis (checked first, as CI requires) is shared by every
    concurrent run; a private ``redis-server`` keeps streams, pub/sub and
    limits of parallel runs apart.
    """
    require_redis()
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed", pytrace=False)
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("private redis-server did not start", pytrace=False)
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(5)


def base_env(data_dir: Path) -> dict[str, str]:
    return {
        "STORYHUB_DATA_DIR": str(data_dir),
        "STORYHUB_SECRET_KEY": TEST_SECRET,
        "STORYHUB_PASSWORD_PROFILE": "test",
        "STORYHUB_AUTH_RATE_LIMIT": "1000",
        "STORYHUB_LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server private to this test session (integration and end-to-end tests)."""
    import httpx

    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=1.0)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def embedded_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Settings for an embedded-mode server: SQLite file, everything in-process."""
    return base_env(tmp_path_factory.mktemp("embedded"))


@pytest.fixture(scope="session")
def services_env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> dict[str, str]:
    """Settings for a services-mode server: real PostgreSQL and Redis."""
    env = base_env(tmp_path_factory.mktemp("services"))
    env["STORYHUB_DATABASE_URL"] = fresh_pg_database("e2e")
    env["STORYHUB_VALKEY_URL"] = redis_url
    return env


@pytest.fixture(scope="session")
def embedded_server(
    embedded_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    server = ServerProcess(embedded_env, tmp_path_factory.mktemp("logs") / "embedded.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def services_server(
    services_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    server = ServerProcess(services_env, tmp_path_factory.mktemp("logs") / "services.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "services"])
def server(request: pytest.FixtureRequest) -> ServerProcess:
    """The same end-to-end test against both modes."""
    fixture: ServerProcess = request.getfixturevalue(f"{request.param}_server")
    return fixture


# --- in-process database for integration tests ---------------------------------


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'it.sqlite3'}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return fresh_pg_database("it")


_engines: dict[str, Any] = {}


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A migrated database on each engine, bound to every table for this test."""
    from storyhub.lib import database
    from storyhub.piccolo_app import TABLES

    url: str = request.getfixturevalue(f"{request.param}_url")
    engine = _engines.get(url)
    if engine is None:
        engine = database.build_engine(url)
        await database.migrate(engine, TABLES)
        await database.open_pool(engine, max_size=5)
        _engines[url] = engine
    database.install_engine(engine, TABLES)
    yield engine


@pytest.fixture(scope="session", autouse=True)
async def _close_engines() -> AsyncIterator[None]:
    yield
    from storyhub.lib import database

    for engine in _engines.values():
        await database.close_pool(engine)


@pytest.fixture(scope="session", autouse=True)
def _drop_databases() -> Iterator[None]:
    yield
    if not _created_databases:
        return

    async def drop() -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            for name in _created_databases:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drop()).result()
