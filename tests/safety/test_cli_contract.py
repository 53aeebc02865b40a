"""``storyhub safety check`` keeps the issue's CLI contract (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(stdin: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STORYHUB_") and key != "PYTHONPATH"
    }
    env["STORYHUB_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "storyhub.cli", "safety", "check", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )


class TestSafetyCheckCommand:
    """One JSON object per input line, same verdicts as the pipeline."""

    def test_one_json_object_per_line(self, tmp_path: Path) -> None:
        lines = [
            "The knight drew his sword.",
            "f u c k this",
            "call me on 555-123-4567",
            "",
            "don't tell your parents",
        ]
        result = run_cli("\n".join(lines) + "\n", "--rating", "allAges", tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        out = [json.loads(line) for line in result.stdout.splitlines()]
        assert [set(o) for o in out] == [{"text", "verdict", "categories", "redacted"}] * 5
        assert [o["text"] for o in out] == lines
        assert [o["verdict"] for o in out] == ["allow", "block", "redact", "allow", "block"]
        assert out[1]["categories"] == ["profanity"]
        assert out[2] == {
            "text": "call me on 555-123-4567",
            "verdict": "redact",
            "categories": ["personalData"],
            "redacted": "call me on [redacted]",
        }
        assert out[4]["categories"] == ["grooming"]

    @pytest.mark.parametrize(
        ("rating", "verdict"), [("allAges", "block"), ("teen", "allow"), ("mature", "allow")]
    )
    def test_rating_selects_the_threshold(self, rating: str, verdict: str, tmp_path: Path) -> None:
        result = run_cli("damn it\n", "--rating", rating, tmp_path=tmp_path)
        assert json.loads(result.stdout)["verdict"] == verdict

    def test_unknown_rating_is_a_usage_error(self, tmp_path: Path) -> None:
        result = run_cli("hello\n", "--rating", "kids", tmp_path=tmp_path)
        assert result.returncode == 2
        assert "invalid choice" in result.stderr
