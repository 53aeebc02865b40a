"""Stored media made fit for a book.

The media domain stores PNG, JPEG or WebP images and Opus (``audio/ogg``) or
MP3 narration. A book accepts PNG/JPEG/GIF and MP3/AAC (the EPUB 3 core
media types that reportlab can also draw), so WebP is re-encoded as PNG with
Pillow and Opus is transcoded to MP3 with ``ffmpeg`` (in a subprocess, never
on the event loop). Very large images are scaled down: a book page never
needs more than 1,600 pixels, and every extra pixel costs PDF build time.

A file that cannot be read is left out of the book (and logged), rather than
failing a build the writers cannot fix.
"""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Final

from PIL import Image, UnidentifiedImageError

from storyhub.books.manuscript import AUDIO_TYPES, IMAGE_TYPES, Illustration, Narration

log = logging.getLogger("storyhub.books.media")

MAX_IMAGE_PIXELS: Final = 1600
"""Longest side kept for an illustration."""
TRANSCODE_SECONDS: Final = 120


def prepare_illustration(data: bytes, content_type: str, alt: str = "") -> Illustration | None:
    """``data`` as an :class:`Illustration` a book can embed, or ``None`` if unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            actual = Image.MIME.get(image.format or "", "")
            too_big = max(image.size) > MAX_IMAGE_PIXELS
            if actual in IMAGE_TYPES and actual == content_type and not too_big:
                return Illustration(data=data, mime=actual, alt=alt)
            image.load()
            converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        log.warning("illustration left out of the book: %s", exc)
        return None
    converted.thumbnail((MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS))
    out = io.BytesIO()
    if actual == "image/jpeg" and converted.mode == "RGB":
        converted.save(out, format="JPEG", quality=88)
        return Illustration(data=out.getvalue(), mime="image/jpeg", alt=alt)
    converted.save(out, format="PNG")
    return Illustration(data=out.getvalue(), mime="image/png", alt=alt)


async def _run(*command: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), TRANSCODE_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"{command[0]} took longer than {TRANSCODE_SECONDS} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {stderr.decode(errors='replace')[-300:]}")
    return stdout


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (scripts/setup-system runtime)")
    return path


async def _duration(path: Path) -> float:
    # A file, not a pipe: ffprobe cannot tell an MP3's duration from a stream.
    out = await _run(
        _tool("ffprobe"), "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
        str(path),
    )  # fmt: skip
    return float(out.decode().strip())


async def prepare_narration(
    data: bytes, content_type: str, duration_seconds: float | None
) -> Narration | None:
    """``data`` as MP3/AAC narration with its real duration, or ``None`` if unusable."""
    if content_type in AUDIO_TYPES and data and duration_seconds:
        return Narration(data=data, mime=content_type, duration_seconds=duration_seconds)
    try:
        with tempfile.TemporaryDirectory(prefix="storyhub-audio-") as folder:
            source, target = Path(folder) / "source", Path(folder) / "narration.mp3"
            await asyncio.to_thread(source.write_bytes, data)
            if content_type in AUDIO_TYPES:
                return Narration(
                    data=data, mime=content_type, duration_seconds=await _duration(source)
                )
            await _run(
                _tool("ffmpeg"), "-hide_banner", "-loglevel", "error", "-i", str(source), "-vn",
                "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", str(target),
            )  # fmt: skip
            mp3 = await asyncio.to_thread(target.read_bytes)
            return Narration(data=mp3, mime="audio/mpeg", duration_seconds=await _duration(target))
    except (RuntimeError, ValueError) as exc:
        log.warning("narration left out of the book: %s", exc)
        return None
