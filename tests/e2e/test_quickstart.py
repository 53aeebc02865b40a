"""``storyhub serve`` with no settings at all is the quickstart, and bad settings stop it.

These run the installed ``storyhub`` console command, as ``scripts/run`` does,
in an empty temporary directory with every ``STORYHUB_*`` variable removed.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port

STORYHUB = Path(sys.executable).with_name("storyhub")


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without a single storyhub setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORYHUB_", "PICCOLO_"))}
    env.update(extra)
    return env


class QuickstartServer:
    """``storyhub serve --port P`` in ``cwd`` with nothing configured."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.port = free_port()
        self.log = cwd / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(STORYHUB), "serve", "--port", str(self.port)],
                cwd=self.cwd,
                env=clean_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"storyhub serve exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"storyhub serve did not answer in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@pytest.fixture
def quickstart(tmp_path: Path) -> Iterator[QuickstartServer]:
    server = QuickstartServer(tmp_path)
    yield server
    server.stop()


class TestEmbeddedDefault:
    def test_serves_with_no_settings_and_keeps_its_state_in_dot_storyhub(
        self, quickstart: QuickstartServer
    ) -> None:
        """Nothing configured: SQLite and a private key appear in ./.storyhub."""
        quickstart.start()
        ready = httpx.get(quickstart.base_url + "/health/ready", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok"}  # no Valkey in embedded mode

        data_dir = quickstart.cwd / ".storyhub"
        assert (data_dir / "storyhub.sqlite3").stat().st_size > 0
        key_file = data_dir / "secret.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert len(key_file.read_text().strip()) >= 32

    def test_restart_keeps_the_same_signing_key(self, quickstart: QuickstartServer) -> None:
        quickstart.start()
        key_file = quickstart.cwd / ".storyhub" / "secret.key"
        first = key_file.read_text()
        quickstart.stop()

        quickstart.start()
        assert httpx.get(quickstart.base_url + "/health/ready", timeout=5).status_code == 200
        assert key_file.read_text() == first
        assert sorted(p.name for p in key_file.parent.glob("secret*")) == ["secret.key"]

    def test_logs_are_json_lines(self, quickstart: QuickstartServer) -> None:
        """Every line the server writes is one JSON object (operations.md relies on it)."""
        import json

        quickstart.start()
        httpx.get(quickstart.base_url + "/health/ready", timeout=5)
        quickstart.stop()
        lines = [line for line in quickstart.log.read_text().splitlines() if line.strip()]
        assert lines
        for line in lines:
            entry = json.loads(line)
            assert {"ts", "level", "msg"} <= set(entry)
        assert any(json.loads(line).get("requestId") for line in lines)


class TestBadSettings:
    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("STORYHUB_DATABASE_URL", "mysql://x"),
            ("STORYHUB_VALKEY_URL", "http://cache"),
            ("STORYHUB_ACCESS_TOKEN_TTL", "forever"),
            ("STORYHUB_SECRET_KEY", "short"),
            ("STORYHUB_LOG_LEVEL", "LOUD"),
        ],
    )
    @pytest.mark.parametrize("command", ["serve", "migrate", "worker"])
    def test_bad_value_stops_start_up_with_one_sentence_naming_it(
        self, tmp_path: Path, command: str, variable: str, value: str
    ) -> None:
        result = subprocess.run(
            [str(STORYHUB), command],
            cwd=tmp_path,
            env=clean_env(**{variable: value}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        message = result.stderr.strip()
        assert len(message.splitlines()) == 1, message
        assert variable in message
        assert "Traceback" not in message
        assert not (tmp_path / ".storyhub" / "storyhub.sqlite3").exists()
