"""External programs the offline providers use: finding them and running them.

espeak-ng, ffmpeg and ffprobe are looked up on ``settings.ai.tool_path`` (or
``PATH``). A missing program is a :class:`ProviderUnavailable` with a sentence
saying what to install; a program that fails or overruns its time limit is a
:class:`ProviderFailed`. Programs run as asyncio subprocesses, so the event
loop keeps serving while they work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from storyhub.media.providers.base import ProviderFailed, ProviderUnavailable

TOOLS: dict[str, str] = {
    "espeak-ng": "espeak-ng",
    "ffmpeg": "ffmpeg",
    "ffprobe": "ffmpeg",
}
"""Program name -> the Debian/Ubuntu package that provides it."""

STDERR_TAIL = 600


class ToolStatus(msgspec.Struct, frozen=True):
    """Whether one program is available here, for ``/health/ready``."""

    name: str
    available: bool
    version: str | None = None


@dataclass
class MediaTools:
    """Where the media programs are; resolved once per search path."""

    search_path: str | None = None
    """PATH-style directories; ``None`` searches the process ``PATH``."""
    _versions: dict[str, str | None] = field(default_factory=dict, repr=False)

    def find(self, name: str) -> str | None:
        """The program's full path, or ``None`` when it is not installed."""
        return shutil.which(name, path=self.search_path)

    def require(self, name: str, purpose: str) -> str:
        """The program's path; :class:`ProviderUnavailable` naming it when missing."""
        path = self.find(name)
        if path is None:
            where = (
                f"in STORYHUB_MEDIA_TOOL_PATH ({self.search_path})"
                if self.search_path is not None
                else "on PATH"
            )
            raise ProviderUnavailable(
                f"{name} is not installed {where}, so storyhub cannot {purpose}; "
                f"install the {TOOLS.get(name, name)} package.",
                tool=name,
            )
        return path

    async def status(self, name: str) -> ToolStatus:
        """Availability and first version line of ``name`` (the version is cached)."""
        path = self.find(name)
        if path is None:
            return ToolStatus(name=name, available=False)
        if name not in self._versions:
            flag = "--version" if name == "espeak-ng" else "-version"
            try:
                out = await run_tool([path, flag], time_limit=5.0, what=name)
                first = out.decode(errors="replace").strip().splitlines()
                self._versions[name] = first[0][:200] if first else None
            except (ProviderFailed, ProviderUnavailable):
                self._versions[name] = None
        return ToolStatus(name=name, available=True, version=self._versions[name])


async def run_tool(
    argv: Sequence[str], *, input: bytes | None = None, time_limit: float, what: str
) -> bytes:
    """Run a program and return its stdout.

    The process is killed when ``time_limit`` seconds pass. Raises
    :class:`ProviderFailed` on a non-zero exit (with the end of stderr) or on
    timeout, and :class:`ProviderUnavailable` when the program vanished.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Never inherit a locale that changes number formats in filter args.
            env={**os.environ, "LC_ALL": "C"},
        )
    except (FileNotFoundError, PermissionError) as exc:
        raise ProviderUnavailable(
            f"{what} could not be started ({exc.strerror}); is it installed?", tool=what
        ) from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(input), timeout=time_limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise ProviderFailed(f"{what} did not finish within {time_limit:g} seconds.") from None
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        raise
    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip()[-STDERR_TAIL:]
        raise ProviderFailed(f"{what} failed with exit code {process.returncode}: {tail}")
    return stdout


class ProbeResult(msgspec.Struct, frozen=True):
    """What ffprobe says about a media file."""

    duration_seconds: float
    video_codec: str | None
    audio_codec: str | None
    width: int | None = None
    height: int | None = None


async def probe_file(tools: MediaTools, path: str, *, time_limit: float = 30.0) -> ProbeResult:
    """Duration and codecs of the file at ``path`` (ffprobe)."""
    ffprobe = tools.require("ffprobe", "measure audio and video")
    out = await run_tool(
        [
            ffprobe,
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            path,
        ],
        time_limit=time_limit,
        what="ffprobe",
    )
    info = json.loads(out)
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    try:
        duration = float(info["format"]["duration"])
    except (KeyError, ValueError):
        raise ProviderFailed("ffprobe could not read a duration from the media.") from None
    return ProbeResult(
        duration_seconds=duration,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=video.get("width") if video else None,
        height=video.get("height") if video else None,
    )
