"""The five provider interfaces, their requests and results, and their errors.

A provider turns one request into one result. Implementations never block the
event loop (drawing and encoding run in threads or subprocesses) and report a
missing tool or service as :class:`ProviderUnavailable`, never as a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol, runtime_checkable

import msgspec

from storyhub.lib.errors import StoryhubError, Unavailable
from storyhub.media.effects import VisualEffects

AgeRating = Literal["allAges", "teen", "mature"]
AudioFormat = Literal["opus", "mp3"]

CONTENT_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
}


class ProviderUnavailable(Unavailable):
    """A provider cannot run here: a tool is missing or a service is unreachable."""

    code = "providerUnavailable"
    title = "Provider unavailable"


class ProviderFailed(StoryhubError):
    """A provider ran but did not produce a usable result (worth retrying later)."""

    status = 502
    code = "providerFailed"
    title = "Provider failed"


class LoreNote(msgspec.Struct, frozen=True, kw_only=True):
    """A lore entry whose trigger word is in play (see ``storyhub.media.prompting``)."""

    name: str
    text: str


class TextRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the narrator knows when it writes the next segment."""

    premise: str
    recent_segments: tuple[str, ...] = ()
    """The last segments of the story, oldest first."""
    title: str = ""
    age_rating: AgeRating = "allAges"
    facts: tuple[str, ...] = ()
    """Pinned story memory (and any facts the caller adds), put into the prompt in order."""
    lore: tuple[LoreNote, ...] = ()
    """Triggered lore entries, most recently mentioned first."""
    max_words: int = 90
    variant: int = 0
    """Which telling: a regeneration (after a blocked text, or asked for by an author)
    asks for another one; a deterministic narrator must not write the same again."""


class TextResult(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    provider: str
    model: str
    duration_seconds: float
    """Wall time the generation took."""


class ImageRequest(msgspec.Struct, frozen=True, kw_only=True):
    prompt: str
    caption: str = ""
    width: int = 1024
    height: int = 576
    age_rating: AgeRating = "allAges"


class SpeechRequest(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    format: AudioFormat = "opus"
    voice: str | None = None
    language: str = "en"


class VideoRequest(msgspec.Struct, frozen=True, kw_only=True):
    prompt: str
    image: bytes | None = None
    """The segment's illustration (PNG/JPEG); the offline provider needs it."""
    audio: bytes | None = None
    """The segment's narration; the clip lasts as long as it."""
    width: int = 1280
    height: int = 720
    seconds: float | None = None
    """Length when there is no audio (the offline provider then adds silence)."""


class EffectsRequest(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    age_rating: AgeRating = "allAges"


class MediaResult(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes of one generated asset and where they came from."""

    data: bytes
    content_type: str
    provider: str
    model: str
    duration_seconds: float | None = None
    """Playing time for audio and video; ``None`` for images."""


class EffectsResult(msgspec.Struct, frozen=True, kw_only=True):
    effects: VisualEffects
    provider: str
    model: str


@runtime_checkable
class TextProvider(Protocol):
    """Writes the AI narrator's next segment."""

    name: str
    model: str

    async def continue_story(self, request: TextRequest) -> TextResult:
        """The whole next segment."""
        ...

    def stream_story(self, request: TextRequest) -> AsyncIterator[str]:
        """The next segment in pieces as they are produced (concatenated = the segment)."""
        ...


@runtime_checkable
class ImageProvider(Protocol):
    """Illustrates a segment or a cover."""

    name: str
    model: str

    async def illustrate(self, request: ImageRequest) -> MediaResult: ...


@runtime_checkable
class AudioProvider(Protocol):
    """Reads a segment aloud."""

    name: str
    model: str

    async def narrate(self, request: SpeechRequest) -> MediaResult: ...


@runtime_checkable
class VideoProvider(Protocol):
    """Animates a segment (MP4, H.264 + AAC)."""

    name: str
    model: str

    async def animate(self, request: VideoRequest) -> MediaResult: ...


@runtime_checkable
class VisualEffectsProvider(Protocol):
    """Derives visual-effect cues for a segment."""

    name: str
    model: str

    async def cues(self, request: EffectsRequest) -> EffectsResult: ...
