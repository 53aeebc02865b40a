"""The fonts books are set in: DejaVu Sans, from Debian's ``fonts-dejavu-core``.

DejaVu Sans covers Latin, Greek, Cyrillic, Arabic (with presentation forms)
and Hebrew, which is what lets one font serve every book; the PDF embeds it.
``scripts/setup-system`` installs the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final, Literal

FontStyle = Literal["regular", "bold", "oblique"]

FONT_DIRECTORIES: Final = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
_FILES: Final[dict[FontStyle, str]] = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "oblique": "DejaVuSans-Oblique.ttf",
}


class FontsMissing(RuntimeError):
    """The book fonts are not installed on this machine."""


@cache
def font_path(style: FontStyle = "regular") -> Path:
    """Path of the DejaVu Sans file for ``style``; :class:`FontsMissing` if absent."""
    name = _FILES[style]
    for directory in FONT_DIRECTORIES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise FontsMissing(
        f"{name} not found in {', '.join(map(str, FONT_DIRECTORIES))}: "
        "install fonts-dejavu-core (scripts/setup-system runtime)"
    )
