"""The architecture written down in pyproject.toml holds, and the code is lint-clean.

Both are subprocess runs of the installed tools: import-linter checks the
contracts (``lib`` imports no domain, pure rules import no I/O), ruff the style
rules. A broken contract fails the suite, so the shape survives later commits.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), cwd=ROOT, capture_output=True, text=True, timeout=300)


class TestArchitecture:
    def test_import_contracts_are_kept(self) -> None:
        """Every import-linter contract in pyproject.toml is kept."""
        result = run_tool(str(BIN / "lint-imports"), "--no-cache")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "broken" not in result.stdout.lower().replace("0 broken", "")

    def test_ruff_finds_nothing(self) -> None:
        """``ruff check storyhub tests scripts`` is clean."""
        result = run_tool(
            str(BIN / "ruff"),
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "storyhub",
            "tests",
            "scripts",
        )
        assert result.returncode == 0, result.stdout + result.stderr
