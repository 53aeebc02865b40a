"""``storyhub admin ...`` as an operator runs it: its own process, the server's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def run_admin(
    settings: Mapping[str, str], *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``storyhub admin ARGS`` with ``settings`` (e.g. a test server's env); never raises."""
    env = {**os.environ, **settings}
    # Tests point Piccolo at their own conf module; the command must find storyhub's.
    env.pop("PICCOLO_CONF", None)
    return subprocess.run(
        [sys.executable, "-m", "storyhub.cli", "admin", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
