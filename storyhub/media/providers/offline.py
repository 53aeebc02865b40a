"""Offline providers: no key, no network, only this machine.

Text and visual effects are pure rules; the image is drawn with Pillow in a
thread; audio is espeak-ng speech encoded by ffmpeg; video is ffmpeg turning
the illustration and the narration into an MP4 with a slow camera move. The
subprocesses run through :func:`storyhub.media.tools.run_tool` (asyncio
subprocesses with a time limit).
"""

from __future__ import annotations

import asyncio
import math
import re
import struct
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from storyhub.lib.errors import InvalidInput
from storyhub.media import illustrator, narrator
from storyhub.media.effects import derive_effects
from storyhub.media.providers.base import (
    CONTENT_TYPES,
    AudioFormat,
    EffectsRequest,
    EffectsResult,
    ImageRequest,
    MediaResult,
    ProviderFailed,
    SpeechRequest,
    TextRequest,
    TextResult,
    VideoRequest,
)
from storyhub.media.tools import MediaTools, probe_file, run_tool

OFFLINE = "offline"
MAX_SPEECH_CHARS = 5000
VIDEO_FPS = 25
ZOOM_PER_CLIP = 0.12
"""How far the camera pushes in over one clip (1.0 -> 1.12)."""
_VOICE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*(?:\+[a-z0-9]{1,16})?$")
LANGUAGE_VOICES = {"en": "en-us"}


class NarratorTextProvider:
    """The built-in narrator (:mod:`storyhub.media.narrator`)."""

    name = OFFLINE
    model = narrator.MODEL_NAME

    async def continue_story(self, request: TextRequest) -> TextResult:
        """The next segment; pure and fast, so it runs inline."""
        started = time.perf_counter()
        text = narrator.continue_story(
            request.premise,
            request.recent_segments,
            title=request.title,
            facts=request.facts,
            lore=[(note.name, note.text) for note in request.lore],
            max_words=request.max_words,
            variant=request.variant,
        )
        return TextResult(
            text=text,
            provider=self.name,
            model=self.model,
            duration_seconds=time.perf_counter() - started,
        )

    async def stream_story(self, request: TextRequest) -> AsyncIterator[str]:
        """The same segment, one sentence at a time."""
        result = await self.continue_story(request)
        sentences = re.split(r"(?<=[.!?\"])\s+", result.text)
        for index, sentence in enumerate(sentences):
            yield sentence if index == len(sentences) - 1 else sentence + " "


class PillowImageProvider:
    """Draws the illustration with Pillow (:mod:`storyhub.media.illustrator`)."""

    name = OFFLINE
    model = illustrator.MODEL_NAME

    async def illustrate(self, request: ImageRequest) -> MediaResult:
        """A PNG of the requested size; drawing runs in a worker thread."""
        try:
            data = await asyncio.to_thread(
                illustrator.draw_illustration,
                request.prompt,
                caption=request.caption,
                width=request.width,
                height=request.height,
            )
        except ValueError as exc:
            raise InvalidInput(str(exc), code="invalidImageSize") from None
        return MediaResult(
            data=data, content_type=CONTENT_TYPES["png"], provider=self.name, model=self.model
        )


def wav_duration(wav: bytes) -> float:
    """Playing time of a PCM WAV, from its format chunk and the bytes present.

    espeak-ng streams WAV to stdout with a placeholder data size, so the
    length comes from the bytes actually received, not the header.
    """
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ProviderFailed("espeak-ng did not produce a WAV file.")
    offset, byte_rate = 12, 0
    while offset + 8 <= len(wav):
        chunk, size = wav[offset : offset + 4], struct.unpack_from("<I", wav, offset + 4)[0]
        if chunk == b"fmt ":
            byte_rate = struct.unpack_from("<I", wav, offset + 16)[0]
        elif chunk == b"data":
            if byte_rate == 0:
                break
            return (len(wav) - offset - 8) / byte_rate
        offset += 8 + size + (size & 1)
    raise ProviderFailed("espeak-ng produced a WAV file without audio data.")


def speech_text(request: SpeechRequest) -> str:
    """The text an offline voice reads: not empty, not longer than ``MAX_SPEECH_CHARS``."""
    text = request.text.strip()
    if not text:
        raise InvalidInput("There is no text to narrate.", code="emptyNarration")
    if len(text) > MAX_SPEECH_CHARS:
        raise InvalidInput(
            f"Narration is limited to {MAX_SPEECH_CHARS} characters.", code="narrationTooLong"
        )
    return text


async def encode_speech(
    tools: MediaTools, wav: bytes, audio_format: AudioFormat, *, time_limit: float
) -> bytes:
    """A WAV encoded by ffmpeg as Opus (Ogg) or MP3: every offline voice ends here."""
    ffmpeg = tools.require("ffmpeg", "encode narration audio")
    codec = (
        ["-c:a", "libopus", "-b:a", "48k", "-f", "ogg"]
        if audio_format == "opus"
        else ["-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3"]
    )
    encoded = await run_tool(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "wav",
            "-i",
            "pipe:0",
            *codec,
            "pipe:1",
        ],
        input=wav,
        time_limit=time_limit,
        what="ffmpeg",
    )
    if not encoded:
        raise ProviderFailed("ffmpeg produced no audio.")
    return encoded


class EspeakAudioProvider:
    """espeak-ng speech, encoded with ffmpeg to Opus (Ogg) or MP3."""

    name = OFFLINE
    model = "espeak-ng"

    def __init__(self, tools: MediaTools, timeout: float = 120.0) -> None:
        self.tools = tools
        self.timeout = timeout

    async def narrate(self, request: SpeechRequest) -> MediaResult:
        """Speech for ``request.text``; raises ProviderUnavailable without the tools."""
        text = speech_text(request)
        voice = request.voice or LANGUAGE_VOICES.get(request.language, request.language)
        if not _VOICE.match(voice):
            raise InvalidInput(f"{voice!r} is not an espeak-ng voice name.", code="invalidVoice")
        espeak = self.tools.require("espeak-ng", "narrate stories offline")
        self.tools.require("ffmpeg", "encode narration audio")  # before speaking, not after
        # Text goes through stdin: never an argument that could look like an option.
        wav = await run_tool(
            [espeak, "-v", voice, "-s", "150", "--stdout", "--stdin"],
            input=text.encode(),
            time_limit=self.timeout,
            what="espeak-ng",
        )
        duration = wav_duration(wav)
        encoded = await encode_speech(self.tools, wav, request.format, time_limit=self.timeout)
        return MediaResult(
            data=encoded,
            content_type=CONTENT_TYPES[request.format],
            provider=self.name,
            model=f"{self.model}:{voice}",
            duration_seconds=round(duration, 3),
        )


class FfmpegVideoProvider:
    """An MP4 (H.264 + AAC) from the illustration and narration, with a slow zoom."""

    name = OFFLINE
    model = "ffmpeg-zoompan"

    def __init__(self, tools: MediaTools, timeout: float = 120.0) -> None:
        self.tools = tools
        self.timeout = timeout

    async def animate(self, request: VideoRequest) -> MediaResult:
        """The clip lasts as long as the audio (or ``seconds`` of silence without it)."""
        width, height = request.width - request.width % 2, request.height - request.height % 2
        if not (64 <= width <= 1920 and 64 <= height <= 1920):
            raise InvalidInput(
                "Video sides must be between 64 and 1920 pixels.", code="invalidVideoSize"
            )
        if request.audio is None and not request.seconds:
            raise InvalidInput(
                "A video needs narration audio or a length in seconds.", code="videoLengthMissing"
            )
        ffmpeg = self.tools.require("ffmpeg", "make videos")
        self.tools.require("ffprobe", "measure videos")
        image = request.image
        if image is None:
            image = await asyncio.to_thread(
                illustrator.draw_illustration, request.prompt, width=width, height=height
            )
        with tempfile.TemporaryDirectory(prefix="storyhub-video-") as folder:
            work = Path(folder)
            image_path, out_path = work / "image", work / "clip.mp4"
            await asyncio.to_thread(image_path.write_bytes, image)
            if request.audio is not None:
                audio_path = work / "audio"
                await asyncio.to_thread(audio_path.write_bytes, request.audio)
                duration = (await probe_file(self.tools, str(audio_path))).duration_seconds
                audio_input = ["-i", str(audio_path)]
            else:
                duration = float(request.seconds or 0)
                audio_input = ["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo"]
            if not 0 < duration <= 600:
                raise InvalidInput(
                    "A video lasts between 0 and 600 seconds.", code="invalidVideoLength"
                )
            frames = math.ceil(duration * VIDEO_FPS) + 1
            # Upscale first so that zoompan's integer crop steps do not jitter.
            video_filter = (
                f"[0:v]scale={width * 2}:{height * 2}:force_original_aspect_ratio=increase,"
                f"crop={width * 2}:{height * 2},"
                f"zoompan=z='1+{ZOOM_PER_CLIP}*on/{frames}':x='iw/2-(iw/zoom/2)':"
                f"y='ih/2-(ih/zoom/2)':d={frames}:s={width}x{height}:fps={VIDEO_FPS},"
                f"format=yuv420p[v]"
            )
            await run_tool(
                [
                    ffmpeg,
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-y",
                    "-i",
                    str(image_path),
                    *audio_input,
                    "-filter_complex",
                    video_filter,
                    "-map",
                    "[v]",
                    "-map",
                    "1:a",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-crf",
                    "23",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "128k",
                    "-t",
                    f"{duration:.3f}",
                    "-movflags",
                    "+faststart",
                    str(out_path),
                ],
                time_limit=self.timeout,
                what="ffmpeg",
            )
            probe = await probe_file(self.tools, str(out_path))
            data = await asyncio.to_thread(out_path.read_bytes)
        return MediaResult(
            data=data,
            content_type=CONTENT_TYPES["mp4"],
            provider=self.name,
            model=self.model,
            duration_seconds=round(probe.duration_seconds, 3),
        )


class RuleEffectsProvider:
    """Visual-effect cues by keyword rules (:func:`storyhub.media.effects.derive_effects`)."""

    name = OFFLINE
    model = "storyhub-effects-rules-1"

    async def cues(self, request: EffectsRequest) -> EffectsResult:
        """Cues for the text; pure and fast, so it runs inline."""
        return EffectsResult(
            effects=derive_effects(request.text, request.age_rating),
            provider=self.name,
            model=self.model,
        )
