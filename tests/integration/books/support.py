"""Real validators and sample material for the book tests.

Every check runs a real tool: Debian's epubcheck (through java, as the
``/usr/bin/epubcheck`` wrapper is broken on Debian 12), ``qpdf --check``,
``pdftotext`` and ``pdfinfo`` from poppler, ``ffmpeg`` for narration audio.
With ``CI=true`` a missing tool fails the test; elsewhere it skips.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from storyhub.books.chapters import split_into_chapters
from storyhub.books.front_matter import credit_line
from storyhub.books.manuscript import Illustration, Manuscript, Narration
from storyhub.books.text import has_rtl, language_direction, paragraphs, text_direction
from tests.support.services import IN_CI

EPUBCHECK_JAR = Path("/usr/share/java/epubcheck.jar")
TOOL_TIMEOUT = 300
CREATED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
COMPLETED = datetime(2026, 11, 20, 18, 45, tzinfo=UTC)


def require_tool(name: str) -> str:
    """The path of ``name``; fails in CI and skips elsewhere when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/setup-system tools)"
        if IN_CI:
            pytest.fail(message + " — CI=true: a missing tool is a failure", pytrace=False)
        pytest.skip(message)
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )


@dataclass(frozen=True)
class EpubcheckReport:
    fatals: int
    errors: int
    warnings: int
    messages: list[str]

    @property
    def clean(self) -> bool:
        return self.fatals == self.errors == self.warnings == 0


def epubcheck(path: Path) -> EpubcheckReport:
    """Run epubcheck on ``path`` and parse its JSON report."""
    java = require_tool("java")
    if not EPUBCHECK_JAR.is_file():
        require_tool("epubcheck-jar-missing")  # fails in CI, skips elsewhere
    report_path = path.with_suffix(".epubcheck.json")
    result = run(java, "-jar", str(EPUBCHECK_JAR), str(path), "--json", str(report_path))
    assert report_path.is_file(), result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    checker = report["checker"]
    messages = [
        f"{m['severity']} {m['ID']}: {m['message']} "
        f"{[loc.get('path') for loc in m.get('locations', [])][:3]}"
        for m in report["messages"]
    ]
    return EpubcheckReport(
        fatals=checker["nFatal"],
        errors=checker["nError"],
        warnings=checker["nWarning"],
        messages=messages,
    )


def qpdf_check(path: Path) -> subprocess.CompletedProcess[str]:
    return run(require_tool("qpdf"), "--check", str(path))


def pdf_pages(path: Path) -> int:
    info = run(require_tool("pdfinfo"), str(path))
    assert info.returncode == 0, info.stderr
    match = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.MULTILINE)
    assert match, info.stdout
    return int(match.group(1))


def pdf_info(path: Path) -> str:
    return run(require_tool("pdfinfo"), str(path)).stdout


def pdf_text_pages(path: Path) -> list[str]:
    """``pdftotext`` output, one string per page."""
    result = run(require_tool("pdftotext"), "-enc", "UTF-8", str(path), "-")
    assert result.returncode == 0, result.stderr
    pages = result.stdout.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return pages


def squash(text: str) -> str:
    """Text reduced for comparison across extraction: NFKC (undoes Arabic
    presentation forms), no format characters (bidi marks pdftotext adds),
    no whitespace (line breaks and justification differ)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def body_text(pages: list[str]) -> str:
    """The squashed text of all pages with each page's printed page number removed."""
    kept: list[str] = []
    for number, page in enumerate(pages, start=1):
        lines = [line for line in page.splitlines() if line.strip()]
        if lines and squash(lines[-1]) == str(number):
            lines.pop()
        kept.append(squash("\n".join(lines)))
    return "".join(kept)


@dataclass(frozen=True)
class Needle:
    """Text a reader must find next.

    ``exact``: the squashed text itself (left-to-right text). ``letters``:
    the letters and digits in order with anything between them (text with
    right-to-left runs: where an extractor puts neutral characters such as
    mirrored brackets and end punctuation is heuristic). ``words``: every word
    close by, in any order (a paragraph running against the book's direction:
    poppler orders a line's words by the page's majority direction).
    """

    kind: str
    text: str


def letters_only(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c)[0] in "LNM")


def _letters_pattern(text: str) -> re.Pattern[str]:
    return re.compile(r"[^\w]*".join(re.escape(c) for c in letters_only(text)))


def expected_needles(manuscript: Manuscript) -> list[Needle]:
    """What a reader must find, in order: each chapter title, then each of its
    segments' paragraphs and credit line (scene breaks are structure, not text)."""
    book = language_direction(manuscript.language)

    def needle(text: str) -> Needle:
        if not has_rtl(text):
            return Needle("exact", squash(text))
        if text_direction(text, book) != book:
            return Needle("words", text)
        return Needle("letters", text)

    needles: list[Needle] = []
    for chapter in split_into_chapters(manuscript.segments):
        needles.append(needle(chapter.title))
        for segment in chapter.segments:
            needles += [needle(p) for p in paragraphs(segment.text)]
            needles.append(needle(credit_line(segment.credit)))
    return needles


def assert_in_order(haystack: str, needles: list[Needle]) -> None:
    """Each needle occurs in ``haystack`` (squashed text) after the previous one."""
    position = 0
    for index, needle in enumerate(needles):
        where = f"text #{index} ({needle.kind}) not found in order: {needle.text[:80]!r}"
        if needle.kind == "exact":
            found = haystack.find(needle.text, position)
            assert found >= 0, f"{where}; around: {haystack[position : position + 160]!r}"
            position = found + len(needle.text)
        elif needle.kind == "letters":
            match = _letters_pattern(needle.text).search(haystack, position)
            assert match, f"{where}; around: {haystack[position : position + 160]!r}"
            position = match.end()
        else:
            words = [w for w in needle.text.split() if letters_only(w)]
            window = haystack[position : position + 2 * len(squash(needle.text)) + 200]
            ends = []
            for word in words:
                match = _letters_pattern(word).search(window)
                assert match, f"{where}: word {word!r} missing; around: {window[:160]!r}"
                ends.append(match.end())
            position += max(ends, default=0)


def png(width: int = 96, height: int = 64, seed: int = 0) -> Illustration:
    """A small, distinct PNG illustration."""
    image = Image.new("RGB", (width, height), (seed * 37 % 256, 120, 200 - seed % 100))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, width - 10, height - 10), fill=(250, 220, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Illustration(data=out.getvalue(), mime="image/png", alt=f"Picture {seed}")


def jpeg(seed: int = 0) -> Illustration:
    image = Image.new("RGB", (120, 80), (30, seed * 53 % 256, 90))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return Illustration(data=out.getvalue(), mime="image/jpeg")


def narration_mp3(directory: Path, seconds: float = 1.2) -> Narration:
    """A real MP3 made by ffmpeg, with its duration measured by ffprobe."""
    ffmpeg = require_tool("ffmpeg")
    ffprobe = require_tool("ffprobe")
    path = directory / f"tone-{seconds}.mp3"
    made = run(
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
        "-i", f"sine=frequency=440:duration={seconds}", "-ac", "1", "-ar", "22050",
        "-c:a", "libmp3lame", "-b:a", "32k", str(path),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    probe = run(ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                str(path))  # fmt: skip
    return Narration(
        data=path.read_bytes(), mime="audio/mpeg", duration_seconds=float(probe.stdout.strip())
    )
