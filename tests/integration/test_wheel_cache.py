"""``scripts/lib/venv.sh`` compiles llama-cpp-python once per machine, then reuses the wheel.

The venv's Python is replaced by a script that logs how it was called and, for
``pip wheel``, writes an (empty) wheel where it was told: the real build takes
10-16 minutes, and the real cache is what ``./scripts/test`` itself exercises.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE_PYTHON = """#!/usr/bin/env bash
printf 'CMAKE_ARGS=%s ARGS=%s\\n' "${CMAKE_ARGS:-}" "$*" >> "$CALL_LOG"
if [ "$2" = pip ] && [ "$3" = wheel ]; then
    [ -n "${FAIL_BUILD:-}" ] && exit 1
    while [ $# -gt 0 ]; do
        if [ "$1" = -w ]; then
            touch "$2/llama_cpp_python-$PINNED-py3-none-linux_$(uname -m).whl"
        fi
        shift
    done
fi
"""


def pinned_version() -> str:
    found = re.search(
        r"llama-cpp-python\[server\]==([0-9.]+)", (ROOT / "pyproject.toml").read_text()
    )
    assert found, "pyproject.toml pins llama-cpp-python[server]==VERSION"
    return found.group(1)


def ensure_wheel(tmp_path: Path, cache: Path, **extra_env: str) -> list[str]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        "STORYHUB_VENV": str(venv),
        "STORYHUB_WHEEL_CACHE": str(cache),
        "CALL_LOG": str(log),
        "PINNED": pinned_version(),
        **extra_env,
    }
    env.pop("CMAKE_ARGS", None)
    # `|| exit $?` runs it where `set -e` is ignored, as ensure_venv does.
    subprocess.run(
        ["bash", "-c", "source scripts/lib/venv.sh; _ensure_llama_wheel || exit $?"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return log.read_text().splitlines() if log.exists() else []


def test_builds_a_portable_wheel_into_the_cache_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = ensure_wheel(tmp_path, cache)
    assert len(first) == 1
    assert first[0].startswith("CMAKE_ARGS=-DGGML_NATIVE=OFF ")
    assert "-m pip wheel" in first[0]
    assert "--no-deps" in first[0]
    assert f"llama-cpp-python=={pinned_version()}" in first[0]
    wheels = sorted(p.name for p in cache.glob("*.whl"))
    assert wheels == [
        f"llama_cpp_python-{pinned_version()}-py3-none-linux_{platform.machine()}.whl"
    ]
    assert not list(cache.glob(".build-*")), "the staging folder is removed"

    assert ensure_wheel(tmp_path, cache) == first, "a cached wheel is not built again"


def test_the_test_and_local_llm_extras_want_it(tmp_path: Path) -> None:
    script = (
        "source scripts/lib/venv.sh; "
        'for e in test local-llm bench,test "" bench; do '
        '_wants_local_llm "$e" && echo "$e:yes" || echo "$e:no"; done'
    )
    out = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    assert out == ["test:yes", "local-llm:yes", "bench,test:yes", ":no", "bench:no"]


def test_a_failed_build_fails_and_leaves_no_wheel(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(subprocess.CalledProcessError) as failed:
        ensure_wheel(tmp_path, cache, FAIL_BUILD="1")
    assert b"needs cmake and g++" in failed.value.stderr
    assert not list(cache.glob("*.whl"))
    assert not list(cache.glob(".build-*"))
